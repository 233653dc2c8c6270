//! JSON-RPC error objects with the codes and texts a Substrate node (jsonrpsee and `sc-rpc`)
//! answers with, so clients that branch on them (1010 "Invalid Transaction", -32601, ...) see
//! what they would see from a node.

use serde::Serialize;
use serde_json::Value;

/// Why the transaction pool refused a transaction (`sp_runtime::InvalidTransaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidTransaction {
    /// The call is not expected (here also: a call the double does not model).
    Call,
    /// The sender cannot pay.
    Payment,
    /// The nonce is too high (only in block building: the pool keeps such transactions).
    Future,
    /// The nonce is already used.
    Stale,
    /// The signature does not verify: also what a wrong genesis hash, spec version,
    /// transaction version or era checkpoint looks like, since those are only signed.
    BadProof,
    /// The era's birth block is not among the blocks whose hashes the runtime keeps.
    AncientBirthBlock,
    /// The transaction does not fit in a block.
    ExhaustsResources,
    /// The zero account signed.
    BadSigner,
    /// A runtime-specific reason; subtensor's `CustomTransactionError` codes.
    Custom(u8),
}

impl InvalidTransaction {
    /// The sentence `sp_runtime` gives this reason (the `data` of error 1010).
    pub fn message(self) -> String {
        match self {
            Self::Call => "Transaction call is not expected".to_owned(),
            Self::Payment => "Inability to pay some fees (e.g. account balance too low)".to_owned(),
            Self::Future => "Transaction will be valid in the future".to_owned(),
            Self::Stale => "Transaction is outdated".to_owned(),
            Self::BadProof => "Transaction has a bad signature".to_owned(),
            Self::AncientBirthBlock => "Transaction has an ancient birth block".to_owned(),
            Self::ExhaustsResources => "Transaction would exhaust the block limits".to_owned(),
            Self::BadSigner => "Invalid signing address".to_owned(),
            // The node formats custom codes itself rather than using the generic sentence.
            Self::Custom(code) => format!("Custom error: {code}"),
        }
    }
}

/// Why validity could not be decided (`sp_runtime::UnknownTransaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownTransaction {
    /// The signer's address could not be resolved to an account.
    CannotLookup,
    /// An unsigned transaction no pallet validates.
    NoUnsignedValidator,
}

/// subtensor's `CustomTransactionError` codes that the double can produce.
pub mod custom {
    /// The signer's stake is below the weights-setting threshold.
    pub const STAKE_AMOUNT_TOO_LOW: u8 = 1;
    /// No commit matches the reveal.
    pub const COMMIT_NOT_FOUND: u8 = 16;
    /// The matching commit is not in its reveal epoch.
    pub const COMMIT_BLOCK_NOT_IN_REVEAL_RANGE: u8 = 17;
}

/// A JSON-RPC error object: `{"code", "message", "data"?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    /// The code.
    pub code: i32,
    /// The message.
    pub message: String,
    /// Details, when the node gives any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    fn new(code: i32, message: impl Into<String>, data: Option<Value>) -> Self {
        Self {
            code,
            message: message.into(),
            data,
        }
    }

    /// -32700: the request is not JSON.
    pub fn parse_error() -> Self {
        Self::new(-32700, "Parse error", None)
    }

    /// -32600: JSON, but not a JSON-RPC request.
    pub fn invalid_request() -> Self {
        Self::new(-32600, "Invalid request", None)
    }

    /// -32601: no such method (also a subscription asked for over HTTP).
    pub fn method_not_found() -> Self {
        Self::new(-32601, "Method not found", None)
    }

    /// -32602: the params do not fit the method; `why` goes in `data`, as jsonrpsee puts
    /// serde's message there.
    pub fn invalid_params(why: impl Into<String>) -> Self {
        Self::new(-32602, "Invalid params", Some(Value::String(why.into())))
    }

    /// 1001: the extrinsic bytes do not decode.
    pub fn bad_format(why: impl std::fmt::Display) -> Self {
        Self::new(1001, format!("Extrinsic has invalid format: {why}"), None)
    }

    /// 1010: the pool refused the transaction as invalid.
    pub fn invalid_transaction(reason: InvalidTransaction) -> Self {
        Self::new(
            1010,
            "Invalid Transaction",
            Some(Value::String(reason.message())),
        )
    }

    /// 1011: the pool cannot tell whether the transaction is valid.
    pub fn unknown_transaction(reason: UnknownTransaction) -> Self {
        let name = match reason {
            UnknownTransaction::CannotLookup => "CannotLookup",
            UnknownTransaction::NoUnsignedValidator => "NoUnsignedValidator",
        };
        Self::new(
            1011,
            "Unknown Transaction Validity",
            Some(Value::String(name.to_owned())),
        )
    }

    /// 1013: the same transaction is already in the pool.
    pub fn already_imported(hash: &crate::scale::H256) -> Self {
        Self::new(
            1013,
            "Transaction Already Imported",
            Some(Value::String(hash.to_string())),
        )
    }

    /// 1014: another transaction with the same sender and nonce is already in the pool.
    pub fn too_low_priority() -> Self {
        Self::new(
            1014,
            "Priority is too low: (0 vs 0)",
            Some(Value::String(
                "The transaction has too low priority to replace another transaction already in the pool.".to_owned(),
            )),
        )
    }

    /// 1016: the pool is full and the transaction could not enter it.
    pub fn immediately_dropped() -> Self {
        Self::new(
            1016,
            "Immediately Dropped",
            Some(Value::String(
                "The transaction couldn't enter the pool because of the limit".to_owned(),
            )),
        )
    }

    /// 4003: a state query failed in the client (unknown block, pruned state, runtime call
    /// failure), with the client's message.
    pub fn state_client(message: impl std::fmt::Display) -> Self {
        Self::new(4003, format!("Client error: {message}"), None)
    }

    /// 3002: a chain query failed in the client.
    pub fn chain_client(message: impl std::fmt::Display) -> Self {
        Self::new(3002, format!("Client error: {message}"), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_signature_is_error_1010_with_the_runtimes_sentence() {
        let err = RpcError::invalid_transaction(InvalidTransaction::BadProof);
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            serde_json::json!({
                "code": 1010,
                "message": "Invalid Transaction",
                "data": "Transaction has a bad signature"
            })
        );
    }

    #[test]
    fn custom_codes_are_spelled_as_the_node_spells_them() {
        let err = RpcError::invalid_transaction(InvalidTransaction::Custom(1));
        assert_eq!(err.data, Some(Value::String("Custom error: 1".to_owned())));
    }

    #[test]
    fn errors_without_details_have_no_data_field() {
        let json = serde_json::to_value(RpcError::method_not_found()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": -32601, "message": "Method not found"})
        );
    }
}
