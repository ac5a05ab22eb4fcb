"""The labelled set of texts the text judging is measured on: generated from the templates below, with the evasive
spellings people write to get past filters, written to ``benchmarks/data/text_judging.jsonl``.

    .venv/bin/python -m benchmarks.text_set

Every text has a category (or ``none``: a benign control, or a hard negative that reads like a category and is not)
and a split: ``tuning`` (thresholds may be chosen on it) or ``held_out`` (only ever measured). The split is by
template, so no held-out text is a filler's variation of a tuning one. No template repeats an example of the
policy (vidsafe/policy.toml): the set measures how the categories generalise, not whether they remember.
"""

from __future__ import annotations

import json
import random
from itertools import product
from pathlib import Path

SET_PATH = Path(__file__).with_name("data") / "text_judging.jsonl"
PER_CATEGORY = 28
SEED = 26

# category -> (templates, fillers): each template's {} takes each filler in turn.
TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "threats": ([
        "I know where you live and I will {} you", "tonight I am going to {} that guy",
        "keep talking and I will {} you",
        "we will {} every one of you at the rally", "next time I see you I'll {} you", "he deserves to get {}ed",
        "I'm gonna {} your whole family", "say that again and see what happens when I {} you",
    ], ["kill", "stab", "shoot", "beat", "hurt", "strangle"]),
    "harassment": ([
        "you are such a {} nobody wants you here", "look at this {} trying to sing", "shut your mouth you {}",
        "what a {}, everyone laughs at you", "nobody cares what a {} like you thinks", "get lost you ugly {}",
        "you're a pathetic {} and always will be",
    ], ["loser", "idiot", "moron", "freak", "clown", "bitch"]),
    "hate": ([
        "all {} are criminals and should be deported", "{} are not real people", "I would never let {} into my country",
        "{} are a plague on this nation", "the world would be better without {}", "{} are genetically inferior",
    ], ["immigrants", "muslims", "jews", "gays", "black people", "refugees"]),
    "self_harm": ([
        "I can't take it anymore, I want to {}", "tonight I'm going to {}", "nobody would miss me if I {}",
        "what is the easiest way to {}", "I have been thinking about how to {}", "I'm ready to {}, goodbye everyone",
    ], ["end it all", "kill myself", "take all my pills", "cut myself again", "jump off the bridge"]),
    "sexual_solicitation": ([
        "{} in my private messages", "hey cutie, {} and I'll pay", "{} tonight, discreet", "looking for someone to {}",
        "{} for cash, hit me up", "if you're lonely, {}",
    ], ["send me naked pics", "sell me your nudes", "meet for sex", "sext with me", "private cam show",
        "buy my explicit videos"]),
    "scams": ([
        "{} and you will be rich by friday", "limited offer: {} today only", "to receive your reward {}",
        "our agent needs you to {} right now", "congratulations! {} to claim the prize", "{}, guaranteed profit",
        "your account is locked, {}",
    ], ["send your card details", "pay the fee in gift cards", "wire us your savings", "share your bank password",
        "invest 500 and get 5000 back", "buy steam cards and send the codes"]),
    "spam": ([
        "{} {} {}", "{}! {}!", "hey guys {} and {}",
    ], ["follow for follow", "like 4 like", "sub to my channel", "check the link in bio", "free followers here",
        "dm for promo"]),
    "drugs_weapons_sale": ([
        "{} for sale, dm me", "got {} available, cash only", "selling {} cheap, fast shipping", "need {}? I deliver",
        "{} in stock, no questions asked", "hit me up for {}",
    ], ["weed", "coke", "meth", "oxy pills", "glock pistols", "an unregistered rifle", "ammo"]),
    "violent_extremism": ([
        "{} is the only way to bring down the system", "brothers, {} and become martyrs", "support {}",
        "we will {} like our heroes did", "glory to those who {}",
    ], ["armed jihad", "join the islamic state", "the christchurch shooter", "bomb the government buildings",
        "blow up the infidels"]),
}
BENIGN: list[str] = [
    "welcome back to my cooking channel", "today we are making banana bread", "the sunset over the lake was beautiful",
    "don't forget to stretch before running", "here is how I organise my desk", "my grandmother taught me this song",
    "the bus was late again this morning", "we finally finished painting the living room", "this is my dog, say hi",
    "thanks everyone for two thousand subscribers", "the museum opens at ten", "let's review the answers together",
    "I bought new headphones and they sound great", "the kids built a sandcastle", "rain is expected all weekend",
    "chapter three explains the water cycle", "our team won the quiz night", "add salt and stir for two minutes",
    "the train to the airport leaves every hour", "my garden tomatoes are finally red", "happy new year everyone",
    "we are live from the football stadium", "please drive carefully in the snow", "this phone case was on sale",
    "the library has a new reading room", "practice makes perfect on the piano", "I love the colours of autumn",
    "the cat is sleeping on my keyboard again", "see you all next week", "mix the flour and the eggs",
    "tomorrow we hike up the mountain", "the concert tickets arrived today", "a quick tour of my new apartment",
    "this lecture covers basic algebra", "remember to drink enough water", "the bakery sells fresh croissants",
    "we met some friendly people at the market", "my first time trying surfing", "the report is due on monday",
    "grandpa tells the best stories", "subtitles are available in english", "the movie starts at eight",
    "how to change a bicycle tyre", "the bridge was built in 1890", "a calm morning by the sea",
    "our school choir sings tonight", "we ordered pizza for the team", "the paint needs two coats",
    "I am learning to speak spanish", "the flowers bloomed early this year",
]
HARD_NEGATIVES: list[str] = [
    "that show killed it last night", "shoot the photo from a lower angle", "this workout is killing me",
    "I'm dying to try that new restaurant", "the comedian destroyed the audience, so funny", "that goal was sick",
    "we crushed the competition at the science fair", "the knife skills class was fun", "break a leg tonight",
    "my phone battery died", "she nailed the presentation", "let's hit the road", "the pitcher threw a bomb",
    "he is a killer guitarist", "this cake is to die for", "kill the lights please", "we shot the whole film in a week",
    "the villain in the movie threatens the city", "fight for your dreams", "that test murdered me",
    "stab the potato with a fork to check it is cooked", "the news reported a shooting downtown",
    "history class covered the second world war", "the gift card balance is shown in the app",
    "never share your bank password with anyone", "scammers may ask for gift cards, do not pay them",
    "sign up for our newsletter for recipes", "follow the recipe step by step", "the drug store closes at nine",
    "the doctor prescribed pills for my headache", "a documentary about extremism and how to prevent it",
    "support your local library", "the hunting rifle is kept locked by law", "my brother is such an idiot, love him",
    "I hate it when the bus is late", "this game is so stupid but I love it", "the new movie bombed at the box office",
    "we blew up balloons for the party", "double your recipe for a big family", "wire the lamp to the switch",
]
# Spellings that evade exact matching: each category's texts get some.
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "$"})


def _evasion(text: str, rng: random.Random) -> str:
    words = text.split()
    target = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[target]
    words[target] = rng.choice([word.translate(LEET), ".".join(word), word[:2] + word[2] * 3 + word[3:],
                                word.upper()])
    return " ".join(words)


def labelled_set() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows: list[dict[str, str]] = []
    for category, (templates, fillers) in TEMPLATES.items():
        # Each template belongs to one half: alternate, from a shuffled order.
        order = templates[:]
        rng.shuffle(order)
        halves = {t: ("tuning", "held_out")[i % 2] for i, t in enumerate(order)}
        slots = {t: t.count("{}") for t in templates}
        candidates = [(t, t.format(*combo)) for t in templates
                      for combo in product(fillers, repeat=slots[t]) if len(set(combo)) == len(combo)]
        rng.shuffle(candidates)
        for n, (template, text) in enumerate(candidates[:PER_CATEGORY]):
            rows.append({"text": _evasion(text, rng) if n % 4 == 3 else text, "category": category,
                         "kind": "category", "split": halves[template]})
    for kind, texts in (("benign", BENIGN), ("hard_negative", HARD_NEGATIVES)):
        for n, text in enumerate(texts):
            rows.append({"text": text, "category": "none", "kind": kind, "split": ("tuning", "held_out")[n % 2]})
    return rows


def main() -> None:
    rows = labelled_set()
    SET_PATH.parent.mkdir(parents=True, exist_ok=True)
    SET_PATH.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    held = sum(row["split"] == "held_out" for row in rows)
    print(f"wrote {len(rows)} texts ({held} held out) to {SET_PATH}")


if __name__ == "__main__":
    main()
