"""Each guard vetoes the near-miss it is for, and lets the matching paraphrase through."""

from __future__ import annotations

import pytest

from prosa.cache.semantic.guards import GUARDS, digits_apart, veto

VETOED = [
    ("numbers", "What is 15% of 200?", "What is 20% of 200?"),
    ("numbers", "Who won the World Cup in 2018?", "Who won the World Cup in 2014?"),
    ("numbers", "Name three primary colors", "Name four primary colors"),
    ("numbers", "What is the 3rd largest country?", "What is the 4th largest country?"),
    ("numbers", "Who was the first president?", "Who was the second president?"),
    ("entities", "What is the capital of France?", "What is the capital of Germany?"),
    ("entities", "what is the capital of france", "what is the capital of italy"),
    ("entities", "Who is the CEO of Microsoft?", "Who is the CEO of Google?"),
    ("entities", "How do I reverse a list in Python?", "How do I reverse a list in Java?"),
    ("negation", "Is it safe to drink tap water in Paris?", "Is it not safe to drink tap water in Paris?"),
    ("negation", "Why is the sky blue?", "Why isn't the sky blue?"),
    ("negation", "How to make a cake with eggs", "How to make a cake without eggs"),
    (
        "comparison",
        "What are the advantages of nuclear power?",
        "What are the disadvantages of nuclear power?",
    ),
    ("comparison", "Is Python faster than Java?", "Is Python slower than Java?"),
    ("comparison", "What is the largest ocean?", "What is the smallest ocean?"),
    ("comparison", "What should I eat before a workout?", "What should I eat after a workout?"),
    ("comparison", "How do I zoom in on a Mac?", "How do I zoom out on a Mac?"),
    ("units", "How many kilometers are in 10 miles?", "How many miles are in 10 kilometers?"),
    ("units", "Convert 30 degrees Celsius to Fahrenheit", "Convert 30 degrees Fahrenheit to Celsius"),
    ("units", "How many cups are in a liter?", "How many cups are in a gallon?"),
    ("units", "How long does it take to walk 5 km?", "How long does it take to walk 5 miles?"),
    ("register", "Explain quantum computing.", "Explain quantum computing in simple terms."),
    ("register", "Tell me about the ocean.", "Write a haiku about the ocean."),
    ("register", "List the planets.", "List the planets in a table."),
    ("language", "What is the capital of France?", "Quelle est la capitale de la France ?"),
    ("language", "Why is the sky blue?", "Warum ist der Himmel blau?"),
    ("language", "Good morning, how are you?", "Доброе утро, как дела?"),
    ("language", "Paris population", "Население Парижа"),
    ("order", "Did Germany beat Brazil in 2014?", "Did Brazil beat Germany in 2014?"),
    (
        "order",
        "How do I convert a list to a string in Python?",
        "How do I convert a string to a list in Python?",
    ),
    (
        "order",
        "Why is the north pole colder than the south pole?",
        "Why is the south pole colder than the north pole?",
    ),
    ("question", "Who wrote Pride and Prejudice?", "When was Pride and Prejudice written?"),
    (
        "wording",
        "How do I sort a dictionary by value in Python?",
        "How do I sort a dictionary by key in Python?",
    ),
    ("wording", "Can dogs eat chocolate?", "Can cats eat chocolate?"),
    ("wording", "What is a synonym for happy?", "What is an antonym for happy?"),
]

ALLOWED = [
    ("What is the capital of France?", "Which city is the capital of France?"),
    ("What is the capital of France?", "capital of france?"),
    ("What is the GDP of Germany?", "What is Germany's GDP?"),
    ("Give me one hundred and twenty names", "Give me 120 names"),
    ("How many km in ten miles?", "How many kilometers are in 10 miles?"),
    ("Does water boil at 100 °C?", "Does water boil at 100 celsius?"),
    ("What's the 1st prime number?", "What is the first prime number?"),
    ("Is it safe to drink tap water in Paris?", "Is tap water in Paris safe to drink?"),
    ("What is a SQL join?", "What is a join in SQL?"),
    ("How can I change a flat tire?", "How can I change a flat tyre?"),
    ("Can you explain what a mortgage is?", "What is a mortgage?"),
    ("Why isn't Pluto a planet?", "Why is Pluto not a planet?"),
    ("Can I withdraw from my 401(k) at 59½?", "Can I withdraw from my 401(k) at 59.5?"),  # not 591 and 2
]


@pytest.mark.parametrize(("guard", "a", "b"), VETOED)
def test_guard_vetoes_its_near_miss_both_ways(guard, a, b):
    assert veto(a, b) == guard
    assert veto(b, a) == guard


@pytest.mark.parametrize(("a", "b"), ALLOWED)
def test_paraphrases_pass_every_guard(a, b):
    assert veto(a, b) is None
    assert veto(b, a) is None


def test_every_guard_is_covered():
    assert {g for g, _, _ in VETOED} == set(GUARDS)


def test_a_best_way_frame_is_no_comparison():
    assert veto("What's the best way to remove a wasp nest?", "How do I remove a wasp nest?") is None
    assert veto("What is the best city to live in?", "What is the worst city to live in?") == "comparison"
    assert veto("What's the best way to lose a game?", "What's the best way to win a game?") == "comparison"


APART = [
    ("What does exit code 137 mean in Docker?", "docker container exited with code 139, what does that mean"),
    ("Is a 2019 MacBook Pro still worth buying?", "should I still buy a macbook pro from 2021"),
    ("How do I resize a 4K video to 1080p?", "How do I resize a 4K video to 720p?"),
    ("Can I bake a loaf with 1½ cups of flour?", "Can I bake a loaf with 11 cups of flour?"),
]
TOGETHER = [
    ("What is 15% of 80?", "What is fifteen percent of 80?"),  # one side in words
    ("Can I live on a $60,000 salary in Denver?", "is 60k a year enough to live in denver"),
    ("What is the 2nd amendment?", "what's the second amendment"),
    ("How do I fix error 404 on my site?", "my site says page not found, how do I fix it"),  # one side only
    ("How do I resize a 4K video to 1080p?", "resize 4k footage down to 1080p"),
]


@pytest.mark.parametrize(("a", "b"), APART)
def test_numbers_in_digits_that_differ_on_both_sides_are_apart(a, b):
    assert digits_apart(a, b) and digits_apart(b, a)


@pytest.mark.parametrize(("a", "b"), TOGETHER)
def test_a_number_held_on_the_other_side_in_any_form_is_not_apart(a, b):
    assert not digits_apart(a, b) and not digits_apart(b, a)
