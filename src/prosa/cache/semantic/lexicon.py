"""Word lists the guards read: number words, units, negations, opposites, register markers, names.

Plain data, lowercase. A word missing here only makes a guard blind to it; the similarity
threshold still applies, and the evaluation set measures what gets through.
"""

from __future__ import annotations

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
    "half": 0.5, "twice": 2, "double": 2, "triple": 3, "single": 1, "pair": 2, "couple": 2,
}  # fmt: skip
SCALES: dict[str, int] = {
    "hundred": 100,
    "thousand": 1000,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
}  # fmt: skip


def _spellings(table: dict[str, str]) -> dict[str, str]:
    """{canonical: "its spellings, space-separated"} -> {spelling: canonical}."""
    return {name: canon for canon, names in table.items() for name in names.split()}


# Unit spelling -> canonical unit. Ambiguous short forms ("m", "in", "s", "h") count only after a number.
UNITS: dict[str, str] = _spellings(
    {
        "km": "km kms kilometer kilometers kilometre kilometres",
        "mile": "mile miles mi",
        "m": "meter meters metre metres",
        "cm": "cm centimeter centimeters centimetre centimetres",
        "mm": "mm millimeter millimeters millimetre millimetres",
        "ft": "ft foot feet",
        "inch": "inch inches",
        "yard": "yard yards yd yds",
        "kg": "kg kgs kilogram kilograms kilo kilos",
        "g": "gram grams",
        "lb": "lb lbs pound pounds",
        "oz": "oz ounce ounces",
        "ton": "ton tons tonne tonnes",
        "l": "liter liters litre litres",
        "ml": "ml milliliter milliliters millilitre millilitres",
        "gallon": "gallon gallons gal",
        "cup": "cup cups",
        "tbsp": "tbsp tablespoon tablespoons",
        "tsp": "tsp teaspoon teaspoons",
        "celsius": "celsius centigrade °c",
        "fahrenheit": "fahrenheit °f",
        "kelvin": "kelvin",
        "hour": "hour hours hr hrs",
        "minute": "minute minutes mins",
        "second": "seconds sec secs",
        "day": "day days",
        "week": "week weeks",
        "month": "month months",
        "year": "year years yr yrs",
        "usd": "usd dollar dollars $",
        "eur": "eur euro euros €",
        "gbp": "gbp sterling £",
        "jpy": "jpy yen ¥",
        "percent": "percent percentage %",
        "byte": "byte bytes",
        "kb": "kb kilobyte kilobytes",
        "mb": "mb megabyte megabytes",
        "gb": "gb gigabyte gigabytes",
        "tb": "tb terabyte terabytes",
        "bit": "bit bits",
        "mph": "mph",
        "kmh": "kmh kph",
        "watt": "watt watts",
        "kw": "kw kilowatt kilowatts",
        "kwh": "kwh",
        "calorie": "calorie calories kcal cal",
        "joule": "joule joules",
        "acre": "acre acres",
        "hectare": "hectare hectares",
        "volt": "volt volts",
        "psi": "psi",
        "knot": "knot knots",
    }
)
AFTER_NUMBER_UNITS: dict[str, str] = {"m": "m", "in": "inch", "h": "hour", "g": "g", "l": "l", "w": "watt",
                                      "ha": "hectare", "min": "minute", "second": "second"}  # fmt: skip

NEGATIONS = frozenset(
    "not no never none nobody nothing nowhere neither nor without cannot can't won't don't doesn't didn't "
    "isn't aren't wasn't weren't shouldn't wouldn't couldn't mustn't hasn't haven't hadn't ain't "
    "unsafe untrue incorrect impossible illegal".split()
)

# Words whose opposite changes the answer. Each maps to a signed class: a paraphrase keeps the class.
_OPPOSITES = [
    (
        "more greater higher larger bigger taller longer heavier older increase increases increasing above over "
        "exceed exceeds maximum max",
        "less fewer lower smaller shorter lighter younger decrease decreases "
        "decreasing reduce reduces reducing below under minimum min",
    ),
    (
        "most largest biggest highest tallest longest heaviest oldest greatest",
        "least smallest lowest shortest lightest youngest fewest",
    ),
    ("better improve improves improving", "worse worsen worsens"),
    ("best top", "worst bottom"),
    ("faster quicker", "slower"),
    ("fastest quickest", "slowest"),
    ("cheaper cheapest cheap", "expensive pricier priciest costlier"),
    (
        "advantage advantages pro pros benefit benefits upside upsides strengths",
        "disadvantage disadvantages con cons drawback drawbacks downside downsides weaknesses risks",
    ),
    ("before earlier prior", "after later"),
    ("start starts begin begins beginning", "end ends ending finish"),
    ("earliest", "latest"),
    ("hot hotter hottest warm warmer", "cold colder coldest cool cooler"),
    ("buy buying purchase", "sell selling"),
    ("add adding insert", "remove removing delete deleting"),
    ("enable enabling", "disable disabling"),
    ("encrypt encryption encode", "decrypt decryption decode"),
    ("import importing", "export exporting"),
    ("upload uploading", "download downloading"),
    ("open opening", "close closing"),
    ("safe safest", "dangerous risky"),
    ("true", "false"),
    ("win won wins", "lose lost loses"),
    ("rise rising", "fall falling"),
    ("north northern", "south southern"),
    ("east eastern", "west western"),
    ("left", "right"),
    ("inside", "outside"),
    ("push", "pull"),
    ("input", "output"),
    ("gain", "loss"),
    ("love", "hate"),
    ("legal", "illegal"),
    ("healthy", "unhealthy"),
    ("easy easiest easier", "hard hardest harder difficult"),
    ("strong stronger strongest", "weak weaker weakest"),
]
POLARITY: dict[str, str] = {}
for _i, (_plus, _minus) in enumerate(_OPPOSITES):
    for _w in _plus.split():
        POLARITY[_w] = f"{_i}+"
    for _w in _minus.split():
        POLARITY[_w] = f"{_i}-"

# Particles that turn a verb into its opposite: "zoom in"/"zoom out", "turn on"/"turn off", "log in"/"log out".
# "in" and "on" are everywhere, so only these four are compared: a question that has one the other lacks is vetoed.
PARTICLES = frozenset(("out", "off", "up", "down"))

# Words that ask for a different kind of answer for the same subject: audience, tone, length, form.
REGISTER: dict[str, str] = _spellings(
    {
        "child": "eli eli5 child children kid kids toddler five-year-old 5-year-old grandma layman laymen",
        "beginner": "beginner beginners novice newbie newbies",
        "expert": "expert experts technical technically advanced professional professionals academic phd",
        "simple": "simple simply simplest plain",
        "formal": "formal formally",
        "casual": "casual informal slang colloquial",
        "funny": "funny humorous joke jokes hilarious sarcastic witty",
        "poem": "poem poems rhyme rhyming haiku limerick sonnet verse song lyrics",
        "story": "story stories tale fable",
        "short": "short shorter brief briefly concise concisely tl;dr tldr summary summarize summarise sentence",
        "long": "detailed detail details depth thorough thoroughly comprehensive elaborate essay",
        "steps": "step-by-step steps",
        "code": "code snippet function script implement implementation",
        "json": "json",
        "yaml": "yaml",
        "csv": "csv",
        "table": "table tabular",
        "bullets": "bullet bullets bulleted",
        "email": "email e-mail letter",
        "tweet": "tweet",
        "translate": "translate translation translated",
        "pirate": "pirate",
    }
)

# Capitalised words that start a question without naming anything: never taken for entities.
STARTERS = frozenset(
    "what what's whats which who who's whom whose when where where's why how how's is are was were do does did "
    "can could would should will shall may might must have has had am tell give show list name explain "
    "describe define compare write find please i i'm i've i'd i'll hey hi hello ok okay so and but or if in "
    "on at for from to of by with about a an the this that these those there it its it's my your our their "
    "we you he she they me us them any some many much one two three summarize summarise calculate convert "
    "help let let's suggest recommend translate create make generate is it could would quick quickly "
    "briefly simply remind teach walk give provide say state identify eli eli5".split()
)

# Names people often type in lowercase: without capitals, only this list tells them apart.
NAMES = frozenset(
    """afghanistan albania algeria argentina armenia australia austria azerbaijan bangladesh belarus belgium
    bolivia bosnia brazil bulgaria cambodia cameroon canada chile china colombia croatia cuba cyprus czechia
    denmark ecuador egypt england estonia ethiopia finland france georgia germany ghana greece guatemala haiti
    honduras hungary iceland india indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan
    kenya korea kuwait laos latvia lebanon libya lithuania luxembourg madagascar malaysia mali malta mexico
    moldova monaco mongolia montenegro morocco mozambique myanmar nepal netherlands holland nigeria norway
    pakistan panama paraguay peru philippines poland portugal qatar romania russia rwanda scotland senegal
    serbia singapore slovakia slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand
    tunisia turkey uganda ukraine uruguay usa america uk britain venezuela vietnam wales yemen zambia zimbabwe
    europe asia africa antarctica oceania paris london berlin madrid rome lisbon dublin amsterdam brussels
    vienna prague warsaw budapest athens moscow kyiv kiev istanbul ankara cairo tokyo osaka kyoto beijing
    shanghai seoul delhi mumbai bangalore sydney melbourne canberra toronto vancouver montreal ottawa
    chicago boston seattle miami houston dallas denver atlanta austin phoenix york angeles francisco
    washington texas california florida ohio nevada oregon alaska hawaii bern zurich geneva oslo stockholm
    helsinki copenhagen reykjavik edinburgh manchester liverpool barcelona munich hamburg frankfurt milan
    naples venice florence nairobi lagos johannesburg dubai riyadh tehran baghdad bangkok hanoi jakarta
    manila singapore lima bogota santiago caracas havana mercury venus earth mars jupiter saturn uranus
    neptune pluto moon sun january february march april june july august september october november
    december monday tuesday wednesday thursday friday saturday sunday english french spanish german
    italian portuguese dutch russian chinese mandarin cantonese japanese korean arabic hindi bengali urdu
    turkish greek latin polish swedish norwegian danish finnish hebrew persian swahili python java
    javascript typescript rust golang kotlin swift ruby perl php haskell scala elixir erlang clojure
    fortran cobol matlab julia lua bash powershell sql postgres postgresql mysql sqlite mongodb redis
    linux windows macos ubuntu debian android ios docker kubernetes git github react angular vue django
    flask numpy pandas pytorch tensorflow excel aws azure gcp google apple microsoft amazon facebook meta
    tesla netflix twitter openai nvidia intel amd ibm samsung sony toyota bmw honda ford einstein newton
    darwin shakespeare napoleon lincoln gandhi mozart beethoven picasso aristotle plato socrates
    christmas easter ramadan hanukkah thanksgiving halloween nile danube thames mississippi everest
    sahara pacific atlantic mediterranean iphone ipad chatgpt gpt bitcoin ethereum""".split()
)

# A handful of very common words per language: enough to tell which language a question is in.
LANGUAGE_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the is are what how why who which where when of to in and do does can you i my a an".split()
    ),
    "fr": frozenset(
        "le la les est sont quel quelle quels comment pourquoi qui où quand de du des et je tu "
        "vous un une c'est qu'est-ce que au aux".split()
    ),
    "es": frozenset(
        "el la los las es son qué cuál cómo por qué quién dónde cuándo de del y yo tú usted un una "
        "se puedo".split()
    ),
    "de": frozenset(
        "der die das ist sind was wie warum wer welche welcher wo wann von und ich du sie ein eine "
        "nicht kann".split()
    ),
    "it": frozenset(
        "il lo la gli le è sono che cosa come perché chi dove quando di del e io tu un una".split()
    ),
    "pt": frozenset("o a os as é são que qual como por quem onde quando de do da e eu você um uma".split()),
    "nl": frozenset("de het is zijn wat hoe waarom wie welke waar wanneer van en ik jij een niet".split()),
}

# Function words and fillers: what is left of a question without them is its content.
STOPWORDS = frozenset(
    """a an the this that these those there here it its it's i i'm i've i'd me my mine we us our you your
    yours he him his she her they them their what what's whats which who whom whose when where why how is
    are was were be been being am do does did doing done have has had having can could would should will
    shall may might must of to in on at by for from with about as into onto over under than then so and
    or but if because while also too very really actually exactly basically just please kindly tell
    me give show know explain describe define let let's some any all each every much many more most
    other such only own same again ever often usually typically generally quickly best way good
    possible need want like get got make makes made one ones thing things something anything kind type
    sort bit lot lots hi hello hey thanks thank ok okay quick question wondering curious simple mean
    means meaning called call say said use used using go going there's is there you're can't cannot
    do don't does doesn't up out off down""".split()
)
WH_CLASSES: dict[str, str] = {"who": "person", "whom": "person", "whose": "person", "who's": "person",
                              "when": "time", "where": "place", "where's": "place"}  # fmt: skip
RELATIONS = frozenset("to into from than vs versus over onto toward towards".split())
