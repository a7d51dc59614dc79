#!/usr/bin/python3
"""Generate the toy word2vec corpus and question files in this folder.

The corpus is synthetic (templates over countries, capitals, languages and
gendered word pairs, plus filler words), so that the man-page examples have
analogies that a tiny model learns in a second.  Deterministic (seed 1).
Run: /usr/bin/python3 data/w2v/make-toy.py && zstd -19 -f data/w2v/toy.txt
"""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
R = random.Random(1)
countries = [("france", "paris", "french"), ("germany", "berlin", "german"),
             ("italy", "rome", "italian"), ("spain", "madrid", "spanish"),
             ("japan", "tokyo", "japanese"), ("china", "beijing", "chinese"),
             ("russia", "moscow", "russian"), ("egypt", "cairo", "arabic"),
             ("greece", "athens", "greek"), ("poland", "warsaw", "polish")]
pairs = [("king", "queen"), ("man", "woman"), ("boy", "girl"), ("father", "mother"),
         ("son", "daughter"), ("brother", "sister"), ("husband", "wife"),
         ("prince", "princess"), ("uncle", "aunt"), ("nephew", "niece")]
filler = ("the a an of in on at to from with and or but very often also new old big small "
          "city river road house book year day time people work life music art city "
          "north south east west long short first last many few good great").split()
verbs = "visited liked described remembered painted left found saw".split()


def fill(n):
    return [R.choice(filler) for _ in range(n)]


def sentence():
    k = R.random()
    if k < 0.5:
        c, cap, lang = R.choice(countries)
        t = R.choice([
            [cap, "is", "the", "capital", "of", c],
            ["the", "capital", "of", c, "is", cap],
            ["people", "in", cap, "speak", lang],
            [lang, "is", "spoken", "in", c, "and", cap],
            ["the", "government", "of", c, "sits", "in", cap],
            ["she", R.choice(verbs), cap, "in", c],
            ["the", lang, "people", "of", c],
        ])
    else:
        m, f = R.choice(pairs)
        t = R.choice([
            ["the", m, "said", "that", "he", "was", "tired"],
            ["the", f, "said", "that", "she", "was", "tired"],
            ["he", "is", "a", m, "and", "his", "name", "is", "john"],
            ["she", "is", "a", f, "and", "her", "name", "is", "mary"],
            ["the", "young", m, R.choice(verbs), "him"],
            ["the", "young", f, R.choice(verbs), "her"],
            ["every", m, "is", "male"],
            ["every", f, "is", "female"],
        ])
    return fill(R.randint(0, 3)) + t + fill(R.randint(0, 3))


with open(os.path.join(here, "toy.txt"), "w") as fp:
    for _ in range(12000):
        fp.write(" ".join(sentence()) + "\n")
with open(os.path.join(here, "toy-questions.txt"), "w") as fp:
    fp.write(": capital-common-countries\n")
    for a in countries:
        for b in countries:
            if a != b:
                fp.write("%s %s %s %s\n" % (a[1], a[0], b[1], b[0]))
    fp.write(": gram-family\n")
    for a in pairs:
        for b in pairs:
            if a != b:
                fp.write("%s %s %s %s\n" % (a[0], a[1], b[0], b[1]))
with open(os.path.join(here, "toy-similarity.txt"), "w") as fp:
    fp.write("# word1 word2 score (made up for the examples)\n")
    for a, b, s in [("paris", "berlin", 8), ("paris", "france", 9), ("king", "queen", 8),
                    ("man", "woman", 8), ("king", "paris", 1), ("boy", "girl", 8),
                    ("french", "german", 7), ("rome", "aunt", 0.5), ("tokyo", "japan", 9),
                    ("sister", "brother", 8), ("music", "moscow", 1), ("unicorn", "king", 2)]:
        fp.write("%s\t%s\t%g\n" % (a, b, s))
