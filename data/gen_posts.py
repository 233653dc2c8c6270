#!/usr/bin/env python3
"""Generates data/posts.jsonl, the synthetic posts served by the local X API double (xapi).

Every post is invented for Pulse: authors, handles and wording are fictional. The output is
deterministic (seeded), so running `python3 data/gen_posts.py > data/posts.jsonl` again
reproduces the committed file byte for byte. The format is documented in data/README.md
("posts.jsonl"); the xapi crate's tests assert the variety promised there.

Sections below: authors, subnet references, tone templates, posts without a subnet,
non-English posts, edge cases, then assembly (ages, metrics, retweets, output).
"""

import difflib
import json
import random

rng = random.Random(45)

# ---------------------------------------------------------------------------------------
# Authors: (username, display name, account age in days, followers, following, tweets).
# The first few are large accounts so engagement reaches the scoring caps.
AUTHORS = [
    ("taoWhale_", "Tao Whale 🐋", 2210, 412_000, 380, 18_400),
    ("chainpulse_news", "ChainPulse News", 3105, 268_500, 120, 52_000),
    ("dTAOdegen", "dTAO degen", 640, 205_300, 1_900, 33_800),
    ("validatorvic", "Vic | validator", 1480, 96_400, 610, 12_050),
    ("subnetscout", "Subnet Scout 🔭", 905, 48_200, 870, 9_400),
    ("mira_builds", "Mira", 1220, 31_700, 450, 6_120),
    ("gpu_goblin", "gpu goblin", 400, 12_900, 2_300, 21_000),
    ("alphaharvest", "Alpha Harvest", 812, 8_830, 990, 4_410),
    ("neuron_nora", "Nora K.", 1960, 6_140, 300, 2_900),
    ("weightsetter", "weight setter", 530, 4_420, 150, 7_700),
    ("emission_ed", "Ed (emissions nerd)", 1710, 3_050, 420, 1_880),
    ("minerjoe42", "Joe", 88, 1_200, 640, 930),
    ("quietstaker", "quiet staker", 2600, 860, 95, 410),
    ("lena_ml", "Lena", 1375, 540, 410, 1_240),
    ("bagholder_bob", "Bob 🎒", 260, 310, 1_700, 5_600),
    ("yieldyeti", "Yield Yeti", 705, 190, 220, 780),
    ("freshwallet01", "fresh wallet", 6, 14, 80, 22),
    ("newminer_2025", "new miner", 2, 3, 41, 5),
    ("lurker_lou", "Lou", 3650, 0, 12, 3),
    ("chartmonk", "Chart Monk 📈", 1015, 22_600, 505, 14_300),
    ("fudfighter", "FUD fighter", 360, 2_750, 1_210, 9_990),
    ("rugwatch", "RugWatch 🚩", 480, 18_100, 75, 3_050),
    ("devops_dana", "Dana", 1890, 1_610, 330, 2_200),
    ("kenji_tanaka", "田中 健二", 1320, 7_400, 280, 3_900),
    ("sora_ai_jp", "ソラ", 610, 2_150, 190, 1_050),
    ("minji_crypto", "민지", 770, 5_300, 600, 2_700),
    ("luis_mineria", "Luis Ortega", 940, 3_900, 510, 4_020),
    ("ana_cripto", "Ana Souza", 560, 1_480, 700, 1_990),
    ("kryptoklaus", "Klaus", 2050, 9_120, 340, 6_600),
    ("camille_ia", "Camille", 1150, 2_640, 260, 1_510),
    ("dmitri_nodes", "Дмитрий", 870, 4_770, 420, 2_350),
    ("wei_builds", "魏 (Wei)", 430, 1_030, 150, 640),
    ("ayse_zincir", "Ayşe 🌙", 515, 820, 300, 900),
    ("linh_ai", "Linh Nguyễn", 300, 660, 210, 480),
    ("omar_chain", "عمر", 1240, 2_290, 390, 1_310),
    ("giulia_nodi", "Giulia", 690, 1_770, 230, 1_120),
    ("priya_tensor", "Priya", 820, 3_340, 540, 2_080),
    ("sourdough_sam", "Sam bakes", 2900, 1_050, 600, 3_300),
    ("footy_fran", "Fran ⚽", 1600, 7_800, 880, 15_400),
    ("btc_maxi_max", "Max", 3300, 54_000, 90, 41_000),
]
AUTHOR = {a[0]: a for a in AUTHORS}
ENGLISH_POSTERS = [a[0] for a in AUTHORS[:23]] + ["priya_tensor"]

# ---------------------------------------------------------------------------------------
# Subnet references: (subnet id, how the post names it, kind). Names and identifiers are the
# public registry's; kinds say which matching rule the reference exercises.
SUBNET_REFS = [
    (1, "apex", "name"), (1, "macrocosm-os", "identifier"),
    (3, "templar", "identifier"), (3, "SN3", "sn_number"),
    (4, "Targon", "name"), (4, "targn", "fuzzy"), (4, "SN4", "sn_number"),
    (5, "hone", "name"), (8, "PTN", "identifier"), (9, "iota", "name"),
    (11, "dippy_studio", "name"), (12, "ComputeHorde", "identifier"), (12, "subnet 12", "subnet_number"),
    (13, "data_universe", "name"), (14, "taohash", "name"), (18, "zeus", "name"),
    (19, "subnet 19", "subnet_number"), (19, "SN19", "sn_number"),
    (20, "bounty hunter", "identifier"), (22, "desearch", "name"), (22, "desearh", "fuzzy"),
    (23, "nuance", "name"), (25, "mainframe", "name"), (27, "NI Compute", "identifier"),
    (33, "readyai", "name"), (34, "Generative Adversarial Subnet", "identifier"),
    (37, "aurelius", "name"), (39, "basilica", "name"), (39, "basilca", "fuzzy"),
    (41, "sportstensor", "name"), (41, "sportstensr", "fuzzy"), (41, "SN41", "sn_number"),
    (41, "sprtsnsr", "fuzzy_far"),
    (43, "graphite", "name"), (44, "Score Vision", "identifier"),
    (45, "talisman_ai", "name"), (45, "SN45", "sn_number"), (45, "sn45", "sn_number"),
    (45, "Subnet 45", "subnet_number"), (45, "talismn_ai", "fuzzy"),
    (50, "synth", "name"), (51, "lium.io", "identifier"), (52, "dojo", "name"),
    (56, "gradients", "name"), (57, "gaia", "name"), (62, "ridges", "name"), (62, "ridgess", "fuzzy"),
    (64, "chutes", "name"), (64, "SN64", "sn_number"), (64, "SN 64", "sn_number"), (64, "chuutes", "fuzzy"),
    (68, "nova", "name"), (75, "hippius", "name"), (75, "hipius", "fuzzy"),
    (81, "grail", "name"), (93, "bitcast", "name"), (93, "SN93", "sn_number"),
    (120, "affine", "name"), (120, "afine", "fuzzy"), (123, "mantis", "name"), (124, "swarm", "name"),
    (128, "byteleap", "name"), (128, "subnet 128", "subnet_number"),
]
REGISTRY_NAMES = {1: "apex", 4: "targon", 22: "desearch", 39: "basilica", 41: "sportstensor",
                  45: "talisman_ai", 62: "ridges", 64: "chutes", 75: "hippius", 120: "affine"}

# Misspellings are only labelled "fuzzy" if the reference's similarity (difflib ratio, cut-off
# 0.85) would accept them, and "fuzzy_far" only if it would not.
for sid, ref, kind in SUBNET_REFS:
    if kind.startswith("fuzzy"):
        ratio = difflib.SequenceMatcher(None, ref.lower(), REGISTRY_NAMES[sid]).ratio()
        assert (ratio >= 0.85) == (kind == "fuzzy"), (ref, ratio)

# ---------------------------------------------------------------------------------------
# Tone templates; {s} is the subnet reference. Cue words follow the reference's sentiment
# prompt: rocket emoji, moon, ATH, pump (very bullish) ... crash, exploit, failure, rug.
TEMPLATES = {
    "very_bullish": [
        "{s} just printed a new ATH 🚀🚀 this is going to the moon",
        "LFG {s}!!! emissions up, miners flooding in, pump season is here 🚀",
        "{s} is the most underrated play in the whole network. Moon mission loading 🌕",
        "Called it. {s} breaking out to ATH and nobody is talking about it yet 🚀",
        "{s} validators reporting record throughput today. Absolute rocket 🚀📈",
        "Loaded another bag of {s} alpha. This thing is about to send to the moon",
        "If you are not watching {s} right now you are going to regret it. ATH incoming 🚀",
        "{s} shipped the upgrade two weeks early and the chart is pure vertical. Moon.",
        "Massive pump on {s}, volume 10x overnight and the team is still building 🚀🔥",
        "{s} to the moon, no brakes 🚀🌕🚀",
        "Every metric on {s} is green. New ATH for usage, new ATH for price. Unreal.",
        "Best week ever for {s}: new partners, faster miners, alpha token ripping 🚀",
    ],
    "bullish": [
        "{s} is looking solid this week, steady growth in active miners",
        "Quietly impressed by {s}. The latest release fixed most of the latency complaints",
        "Adding a little more {s} exposure. Fundamentals keep improving",
        "{s} roadmap update reads well, good to see the team hitting milestones",
        "Good numbers from {s} today, emissions share ticking up 📈",
        "{s} feels undervalued relative to what it actually delivers",
        "Nice to see {s} getting more validator support. Healthy sign",
        "Been running a miner on {s} for a month, rewards are consistent and the docs got better",
        "{s} community call was encouraging, clear plan for the next quarter",
        "Slowly accumulating {s}. Not a moonshot, just a good product",
        "Uptrend on {s} holding nicely, higher lows all week",
        "{s} demo was smooth. I would keep an eye on this one",
    ],
    "neutral": [
        "Anyone have a good explainer on how {s} scores its miners?",
        "{s} validator set changed a bit today, not sure what it means yet",
        "Reading through the {s} docs this evening. Lots to digest",
        "What is the current registration cost on {s}?",
        "{s} team hosting a spaces tomorrow at 16:00 UTC",
        "Comparing {s} with a couple of other subnets for a write-up. Notes soon",
        "New commit on the {s} repo, mostly refactoring from what I can see",
        "Is {s} still running the same incentive mechanism as last month?",
        "Thread on {s} architecture below, trying to keep it factual 🧵",
        "{s} emissions unchanged since yesterday",
        "Has anyone benchmarked {s} against centralized alternatives?",
        "Noting down {s} stats for my weekly sheet: nothing unusual",
    ],
    "bearish": [
        "Not loving the direction of {s} lately. Fewer updates, more promises",
        "{s} miners complaining about weight setting again. Concerning",
        "Trimmed my {s} position. Volume is drying up",
        "{s} chart looks heavy, lower highs for two weeks",
        "The {s} team went quiet after the last release. Never a great sign",
        "{s} rewards keep shrinking for small miners. Hard to justify the hardware",
        "Downtrend on {s} continues, I would wait before adding",
        "{s} is overhyped relative to its actual usage numbers 📉",
        "Validators dropping out of {s}, emissions share down again",
        "{s} roadmap slipped another month. Patience running thin",
        "Selling pressure on {s} all day, bids look thin",
    ],
    "very_bearish": [
        "{s} just crashed 40% in an hour. Something is very wrong 📉📉",
        "Reports of an exploit on {s}: miners draining rewards. Stay away until they patch",
        "{s} looks like a rug. Team wallets moving, socials deleted",
        "Total failure from {s} today, validators offline and nobody answering",
        "{s} crash is brutal, capitulation everywhere 💀",
        "Exploit confirmed on {s}. This could be the end of it",
        "{s} dumping hard after the failed upgrade. Get out while you can",
        "Another outage on {s}. At this point it is a disaster",
        "{s} is collapsing, liquidity gone, rug vibes 🚩🚩",
        "Warning: {s} weight-copying exploit is live and unpatched. Huge failure",
    ],
}
TONE_TAG = {"very_bullish": "vbull", "bullish": "bull", "neutral": "neutral",
            "bearish": "bear", "very_bearish": "vbear"}
SUFFIXES = ["", "", "", " $TAO", " #Bittensor", " #dTAO", " $TAO #Bittensor", " 🧠", " #SN{n}"]

# ---------------------------------------------------------------------------------------
# Posts that name no subnet: (text, tone, kind). "ecosystem" posts carry an anchor word (tao,
# bittensor, subnet) but no subnet; "trap" posts use a subnet's name as an ordinary word.
NO_SUBNET = [
    ("$TAO holding up better than most alts today", "bullish", "ecosystem"),
    ("Bittensor halving math thread: emissions per block drop, issuance slows 🧵", "neutral", "ecosystem"),
    ("Subnet registration costs are getting silly. Who is paying these?", "bearish", "ecosystem"),
    ("dTAO changed how I think about staking. Still learning.", "neutral", "ecosystem"),
    ("TAO to 2k this cycle? I am not saying it, I am just saying 🚀🌕", "very_bullish", "ecosystem"),
    ("Bittensor dev call notes are up, mostly tooling and docs", "neutral", "ecosystem"),
    ("Staked more $TAO with a new validator. Lower take, same uptime", "bullish", "ecosystem"),
    ("Opentensor foundation blog post today is worth a read", "neutral", "ecosystem"),
    ("TAO crash incoming? Funding rates look stretched 📉", "bearish", "ecosystem"),
    ("Every subnet thinks it is the next big thing. Most are not.", "bearish", "ecosystem"),
    ("Bittensor is still the most interesting experiment in crypto AI", "bullish", "ecosystem"),
    ("gm to everyone grinding on subnets this weekend", "neutral", "ecosystem"),
    ("The tao of debugging: read the logs, then read them again", "neutral", "ecosystem"),
    ("BTC new ATH again 🚀 number go up", "very_bullish", "crypto"),
    ("ETH gas is ridiculous this morning", "bearish", "crypto"),
    ("Solana meme coins: 3 rugs before lunch. New record.", "very_bearish", "crypto"),
    ("Stablecoin supply keeps growing, usually a decent sign for the market", "bullish", "crypto"),
    ("Exchange outage during the pump, classic", "bearish", "crypto"),
    ("Cold storage reminder: not your keys, not your coins", "neutral", "crypto"),
    ("Altseason is a feeling, not a date", "neutral", "crypto"),
    ("DeFi exploit drained a lending pool overnight. Audits are not magic.", "very_bearish", "crypto"),
    ("Made sourdough with a 36 hour cold proof. Crumb is perfect.", "neutral", "offtopic"),
    ("Rain delay at the match, third one this month", "neutral", "offtopic"),
    ("My cat walked across the keyboard and pushed to main", "neutral", "offtopic"),
    ("Anyone else think the new phone update drains the battery?", "bearish", "offtopic"),
    ("Finished a 10k run, new personal best 🏃", "bullish", "offtopic"),
    ("Reading list for the holidays: three novels and one very long manual", "neutral", "offtopic"),
    ("Coffee prices went up again at the corner shop", "bearish", "offtopic"),
    ("Large language models still cannot count the letters in strawberry reliably", "neutral", "offtopic"),
    ("GPU prices finally coming down, good time to build a rig", "bullish", "offtopic"),
    ("We reached the apex of the trail just before sunset", "neutral", "trap"),
    ("Kids wanted chutes and ladders again. Third round tonight.", "neutral", "trap"),
    ("Found a praying mantis on the balcony, huge one", "neutral", "trap"),
    ("Watched a documentary about the nova of 1572", "neutral", "trap"),
    ("Bee swarm in the neighbour's tree, beekeeper on the way", "neutral", "trap"),
    ("This synth patch sounds like an old arcade machine", "neutral", "trap"),
    ("The gradients in this sunset photo are unreal", "neutral", "trap"),
    ("Our dojo is closed for the holidays", "neutral", "trap"),
    ("Finally understood the ridges on this old vinyl record", "neutral", "trap"),
    ("design450 review moved to Friday, sn1234 ticket still open", "neutral", "trap"),
]

# Non-English posts: (lang, text, subnet id or None, tone, author).
NON_ENGLISH = [
    ("es", "SN64 está volando hoy 🚀 nuevo máximo histórico para chutes", 64, "very_bullish", "luis_mineria"),
    ("es", "¿Alguien sabe cómo puntúa subnet 19 a los mineros?", 19, "neutral", "luis_mineria"),
    ("es", "Vendí mi posición en sportstensor, el volumen se está secando", 41, "bearish", "luis_mineria"),
    ("es", "Hoy hace un día precioso para caminar por la playa", None, "neutral", "luis_mineria"),
    ("pt", "Talisman_ai entregou a atualização antes do prazo. Muito bom!", 45, "bullish", "ana_cripto"),
    ("pt", "Alerta: possível exploit no SN41, cuidado com as recompensas", 41, "very_bearish", "ana_cripto"),
    ("pt", "Bom dia! Café e gráficos, como sempre", None, "neutral", "ana_cripto"),
    ("de", "Targon läuft stabil, die Latenz ist deutlich besser geworden", 4, "bullish", "kryptoklaus"),
    ("de", "Der Kurs von $TAO ist heute eingebrochen. Totaler Absturz 📉", None, "very_bearish", "kryptoklaus"),
    ("de", "SN45 Validatoren melden Rekordwerte 🚀", 45, "very_bullish", "kryptoklaus"),
    ("fr", "Le subnet 64 continue de progresser, belle semaine pour chutes", 64, "bullish", "camille_ia"),
    ("fr", "Quelqu'un a testé desearch ? Je compare plusieurs moteurs de recherche", 22, "neutral", "camille_ia"),
    ("fr", "Grosse déception avec ridges ce mois-ci, la feuille de route a glissé", 62, "bearish", "camille_ia"),
    ("ja", "Chutes（SN64）が今日も過去最高を更新🚀", 64, "very_bullish", "kenji_tanaka"),
    ("ja", "サブネット45のドキュメントを読んでいます。内容が多い", 45, "neutral", "kenji_tanaka"),
    ("ja", "今日はラーメンを食べに行きました🍜", None, "neutral", "sora_ai_jp"),
    ("ja", "SN41のマイナー報酬がどんどん減っている…", 41, "bearish", "sora_ai_jp"),
    ("ko", "SN45 탈리스만 지갑 업데이트 좋네요 📈", 45, "bullish", "minji_crypto"),
    ("ko", "TAO 시장이 오늘 폭락했습니다. 조심하세요", None, "very_bearish", "minji_crypto"),
    ("zh", "chutes 子网今天又创新高了 🚀🚀", 64, "very_bullish", "wei_builds"),
    ("zh", "有人知道 SN19 的矿工评分机制吗？", 19, "neutral", "wei_builds"),
    ("ru", "Targon снова упал, похоже на провал обновления", 4, "very_bearish", "dmitri_nodes"),
    ("ru", "Запустил майнер на SN64, пока всё стабильно", 64, "bullish", "dmitri_nodes"),
    ("tr", "Bugün SN45 için harika bir gün, rekor kırıldı 🚀", 45, "very_bullish", "ayse_zincir"),
    ("vi", "Mọi người nghĩ sao về mantis subnet 123?", 123, "neutral", "linh_ai"),
    ("it", "Il subnet 41 ha perso metà dei validatori questa settimana", 41, "bearish", "giulia_nodi"),
    ("ar", "سعر TAO مستقر اليوم، لا جديد", None, "neutral", "omar_chain"),
    ("hi", "SN64 chutes पर आज बहुत अच्छा वॉल्यूम रहा 🚀", 64, "very_bullish", "priya_tensor"),
    ("und", "🚀🚀🚀 $TAO 🌕🌕", None, "very_bullish", "dTAOdegen"),
    ("qht", "#Bittensor #dTAO #SN45", 45, None, "subnetscout"),
    ("zxx", "🧠⚡️🧠⚡️", None, None, "gpu_goblin"),
]

# Edge cases: (key suffix, text, subnet id or None, tone, lang, author). Texts are the form X
# returns them in (X escapes &, < and > in post text as HTML entities).
LONG_PARAGRAPH = (
    "Long form notes on SN45 after a week of running a validator. Setup took an afternoon, "
    "most of it waiting for the chain to sync. Weight setting has been reliable, scoring is "
    "transparent once you read the code, and the miners that keep their posts fresh clearly "
    "win. Emissions are steady, nothing dramatic. "
)
EXACT_280 = "SN41 sportstensor recap: " + "predictions held up well across the weekend fixtures, " * 6
EXACT_280 = (EXACT_280[:279].rstrip() + "!").ljust(280, "!")
assert len(EXACT_280) == 280
EDGE_CASES = [
    ("crlf", "SN45 weekly update:\r\n- wallet agent shipped\r\n- fees down\r\n\r\nsolid week", 45, "bullish", "en", "mira_builds"),
    ("lone-cr", "chutes\rcompute usage at a record\r🚀🚀", 64, "very_bullish", "en", "gpu_goblin"),
    ("mixed-breaks", "subnet 19 notes\n\rline two\r\nline three\rline four", 19, "neutral", "en", "emission_ed"),
    ("zwsp-inside", "SN\u200b64 looks strong today, chu\u200btes volume up", 64, "bullish", "en", "alphaharvest"),
    ("zwsp-edges", "\u200btalisman_ai keeps shipping\u200b", 45, "bullish", "en", "neuron_nora"),
    ("info-separators", "sportstensor\u001cmodels\u001dare\u001efinally\u001fgood", 41, "bullish", "en", "weightsetter"),
    ("nbsp", "subnet\u00a019 is\u00a0quietly\u00a0improving", 19, "bullish", "en", "quietstaker"),
    ("unicode-spaces", "targon\u2003latency\u3000down\u2028again\u0085nice", 4, "bullish", "en", "devops_dana"),
    ("padded", "   \n\t SN41 sportstensor model drop today \t\n  ", 41, "neutral", "en", "subnetscout"),
    ("tabs-and-runs", "SN93\t\tbitcast      creators     paid   out\t\ton time", 93, "bullish", "en", "lena_ml"),
    ("emoji-heavy", "🚀🚀🚀 SN45 🌕🌕 👨‍💻👩🏽‍🔬 🇯🇵🇧🇷 LFG", 45, "very_bullish", "en", "dTAOdegen"),
    ("nfd-accents", "Cafe\u0301 chat about desearch, re\u0301sume\u0301 of the week: steady", 22, "neutral", "en", "lena_ml"),
    ("html-entities", "R&amp;D update from SN64: latency &lt; 200ms &amp; uptime &gt; 99.9%", 64, "bullish", "en", "chainpulse_news"),
    ("quotes-backslash", "He said \u201cSN62 is done\u201d and I said \"no\" \\ still holding ridges", 62, "neutral", "en", "bagholder_bob"),
    ("cashtags", "$TAO $tao $TAO. $BTC and SN45 all green today 🚀", 45, "very_bullish", "en", "taoWhale_"),
    ("hashtags-mentions", "#SN45 #talisman_ai #Bittensor @validatorvic @mira_builds thoughts on the new release?", 45, "neutral", "en", "subnetscout"),
    ("two-subnets", "Rotating out of SN4 into SN64. Chutes just keeps growing, targon stalled", 64, "bullish", "en", "chartmonk"),
    ("tie-subnets", "SN64 and SN4 both had a good week", 4, "bullish", "en", "chartmonk"),
    ("fullwidth", "ＳＮ４５ is trending in my feed", 45, "neutral", "en", "freshwallet01"),
    ("url-only", "https://example.com/sn45-report $TAO", 45, "neutral", "en", "chainpulse_news"),
    ("exactly-280", EXACT_280, 41, "bullish", "en", "priya_tensor"),
    ("very-long", LONG_PARAGRAPH * 12, 45, "bullish", "en", "validatorvic"),
    ("rtl-mixed", "SN45 \u202bمرحبا بالجميع\u202c talisman_ai", 45, "neutral", "en", "omar_chain"),
    ("only-anchor-word", "subnet", None, None, "en", "lurker_lou"),
    ("bom-and-wj", "\ufeffSN64\u2060 chutes steady", 64, "neutral", "en", "yieldyeti"),
]


# ---------------------------------------------------------------------------------------
# Assembly.
def author(username):
    u, name, age_days, followers, following, tweets = AUTHOR[username]
    return {"username": u, "name": name, "account_age_days": age_days, "followers": followers,
            "following": following, "tweets": tweets}


def age_minutes():
    """Mostly inside the 72 h search window, some beyond it, some older than ten days."""
    roll = rng.random()
    if roll < 0.78:
        return rng.randint(2, 72 * 60 - 5)
    if roll < 0.90:
        return rng.randint(72 * 60 + 5, 10 * 24 * 60 - 5)
    return rng.randint(10 * 24 * 60 + 5, 30 * 24 * 60)


def metrics(followers, tone):
    """Engagement loosely proportional to reach; strong tones travel further."""
    heat = {"very_bullish": 2.0, "very_bearish": 2.2}.get(tone, 1.0)
    base = max(followers, 50) * rng.uniform(0.0005, 0.03) * heat
    if rng.random() < 0.15:
        base = 0
    likes = int(base)
    return {"likes": likes, "retweets": int(likes * rng.uniform(0.05, 0.3)),
            "replies": int(likes * rng.uniform(0.01, 0.12)), "quotes": int(likes * rng.uniform(0.0, 0.05))}


posts = []


def add(key, text, lang, username, subnet, ref, tone, age=None, fixed_metrics=None):
    a = author(username)
    posts.append({
        "key": key, "age_minutes": age if age is not None else age_minutes(), "lang": lang,
        "text": text, "retweet_of": None, "author": a,
        "metrics": fixed_metrics or metrics(a["followers"], tone),
        "intent": {"subnet": subnet, "ref": ref, "tone": tone},
    })


# Subnet posts: every tone template three times, each time with a reference drawn at random.
count = {}
for tone, templates in TEMPLATES.items():
    for _ in range(3):
        for template in templates:
            sid, ref, kind = rng.choice(SUBNET_REFS)
            suffix = rng.choice(SUFFIXES).replace("{n}", str(sid))
            count[sid] = count.get(sid, 0) + 1
            key = f"sn{sid}-{TONE_TAG[tone]}-{count[sid]:03d}"
            add(key, template.format(s=ref) + suffix, "en", rng.choice(ENGLISH_POSTERS), sid, kind, tone)

for i, (text, tone, kind) in enumerate(NO_SUBNET, 1):
    poster = {"offtopic": "sourdough_sam", "crypto": "btc_maxi_max"}.get(kind)
    if kind == "offtopic" and "match" in text:
        poster = "footy_fran"
    add(f"nosub-{kind}-{i:03d}", text, "en", poster or rng.choice(ENGLISH_POSTERS), None, "none" if kind != "trap" else "trap", tone)

for i, (lang, text, sid, tone, poster) in enumerate(NON_ENGLISH, 1):
    add(f"intl-{lang}-{i:03d}", text, lang, poster, sid, "mixed" if sid else "none", tone)

# Edge cases sit inside the search window so a miner run meets all of them.
for suffix, text, sid, tone, lang, poster in EDGE_CASES:
    add(f"edge-{suffix}", text, lang, poster, sid, "mixed" if sid else "none", tone,
        age=rng.randint(5, 70 * 60))

# Window boundaries: just inside and just outside 72 h and 10 days.
add("edge-window-inside-72h", "SN45 post from just inside the search window", "en", "emission_ed", 45, "sn_number", "neutral", age=72 * 60 - 1)
add("edge-window-outside-72h", "SN45 post from just outside the search window", "en", "emission_ed", 45, "sn_number", "neutral", age=72 * 60 + 1)
add("edge-age-under-10d", "SN64 chutes post a little under ten days old", "en", "emission_ed", 64, "sn_number", "neutral", age=10 * 24 * 60 - 1)
add("edge-age-over-10d", "SN64 chutes post a little over ten days old", "en", "emission_ed", 64, "sn_number", "neutral", age=10 * 24 * 60 + 1)
add("edge-brand-new", "SN45 brand new post, seconds old", "en", "newminer_2025", 45, "sn_number", "bullish", age=0)
add("edge-viral", "SN64 chutes served more inference today than some clouds. ATH after ATH 🚀🚀🚀", "en", "taoWhale_", 64,
    "sn_number", "very_bullish", age=95, fixed_metrics={"likes": 48_200, "retweets": 9_900, "replies": 2_400, "quotes": 1_310})
add("edge-zero-engagement", "SN45 first post here, hello", "en", "lurker_lou", 45, "sn_number", "neutral",
    age=30, fixed_metrics={"likes": 0, "retweets": 0, "replies": 0, "quotes": 0})

# Retweets: "RT @author: text" (truncated as X does for long originals), after the original.
originals = [p for p in posts if p["author"]["username"] != "lurker_lou" and p["age_minutes"] > 60]
for i, original in enumerate(rng.sample(originals, 30), 1):
    retweeter = rng.choice([u for u in ENGLISH_POSTERS if u != original["author"]["username"]])
    body = original["text"]
    rt_text = f"RT @{original['author']['username']}: {body}"
    if len(rt_text) > 140:
        rt_text = rt_text[:139] + "…"
    age = rng.randint(1, original["age_minutes"] - 1)
    a = author(retweeter)
    # X reports a retweet's retweet count as the original's and zero for its other counts.
    posts.append({
        "key": f"rt-{i:03d}", "age_minutes": age, "lang": original["lang"], "text": rt_text,
        "retweet_of": original["key"], "author": a,
        "metrics": {"likes": 0, "retweets": original["metrics"]["retweets"], "replies": 0, "quotes": 0},
        "intent": dict(original["intent"]),
    })

rng.shuffle(posts)

# Fixed ids (creation time comes from the id, not an age): two from 2024, far outside the
# search window but still found by id lookup; the second has a non-zero millisecond part.
FIXED = [
    ("fixed-2024-sn45", "1860000000000000001", "SN45 talisman_ai launch day, a long time ago 🚀", 45, "very_bullish", "validatorvic"),
    ("fixed-2024-chutes", "1845123456789012345", "chutes (SN64) weekly stats: steady", 64, "neutral", "chainpulse_news"),
    ("fixed-2025-nosub", "1912345678901234567", "Long weekend, no charts, no subnets. Just the sea.", None, None, "quietstaker"),
]
for key, id_, text, sid, tone, poster in FIXED:
    a = author(poster)
    posts.append({"key": key, "id": id_, "lang": "en", "text": text, "retweet_of": None, "author": a,
                  "metrics": metrics(a["followers"], tone), "intent": {"subnet": sid, "ref": "mixed" if sid else "none", "tone": tone}})

assert len({p["key"] for p in posts}) == len(posts)

# Invisible characters are written as \u escapes so the file stays readable and greppable.
INVISIBLE = ["\u00a0", "\u0085", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2003", "\u2028",
             "\u2029", "\u202b", "\u202c", "\u2060", "\u3000", "\ufeff"]
for post in posts:
    line = json.dumps(post, ensure_ascii=False)
    for ch in INVISIBLE:
        line = line.replace(ch, "\\u%04x" % ord(ch))
    print(line)
