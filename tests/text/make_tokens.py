#!/usr/bin/python3
"""Reference token ids for tests/text: CLIP's simple tokenizer, rewritten in plain Python.

Usage: /usr/bin/python3 tests/text/make_tokens.py [merges.txt.gz] > tests/text/clip_tokens.txt

This follows the algorithm of openai/CLIP clip/simple_tokenizer.py with the standard library
only: the `regex` module's \\p{L} and \\p{N} classes are spelled out from `unicodedata`, and
ftfy.fix_text is replaced by the same documented subset that contra::data::clean_text applies
(see include/contra/data/tokenizer.hpp). Everything else (html.unescape, NFC, str.lower, the
pre-tokenizer pattern, byte-to-unicode table, vocab order and the BPE loop) is Python's own.

Output: a comment line, then one line per input: the input's UTF-8 bytes in hex, a tab, and the
encoded ids (no start/end tokens) separated by spaces.
"""
import gzip
import html
import re
import sys
import unicodedata

MERGES = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/bpe_simple_vocab_16e6.txt.gz"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def char_class(predicate):
    """A regex character-class body listing every code point for which predicate holds."""
    parts, start, prev = [], None, None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or not predicate(chr(cp)):
            continue
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            parts.append((start, prev))
            start = prev = cp
    parts.append((start, prev))
    esc = lambda c: "\\U%08x" % c
    return "".join(esc(a) if a == b else esc(a) + "-" + esc(b) for a, b in parts)


LETTERS = char_class(lambda c: unicodedata.category(c).startswith("L"))
NUMBERS = char_class(lambda c: unicodedata.category(c).startswith("N"))
PATTERN = re.compile(
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[" + LETTERS + "]+|[" + NUMBERS + "]|[^\\s" + LETTERS + NUMBERS + "]+",
    re.IGNORECASE,
)

# The ftfy subset (see tokenizer.hpp): C1 controls read as Windows-1252, Latin ligatures split,
# half/full-width forms to standard width, curly quotes uncurled, stray control characters dropped.
LIGATURES = {ord("Ĳ"): "IJ", ord("ĳ"): "ij", ord("ﬀ"): "ff", ord("ﬁ"): "fi", ord("ﬂ"): "fl", ord("ﬃ"): "ffi", ord("ﬄ"): "ffl", ord("ﬅ"): "ſt", ord("ﬆ"): "st"}
WIDTH = {0x3000: " "}
for i in range(0xFF01, 0xFFF0):
    if unicodedata.normalize("NFKC", chr(i)) != chr(i):
        WIDTH[i] = unicodedata.normalize("NFKC", chr(i))
CONTROLS = set(range(0x00, 0x09)) | {0x0B} | set(range(0x0E, 0x20)) | {0x7F} | set(range(0x206A, 0x2070)) | {0xFEFF} | set(range(0xFFF9, 0xFFFD))


def c1_as_cp1252(ch):
    if 0x80 <= ord(ch) <= 0x9F:
        try:
            return bytes([ord(ch)]).decode("cp1252")
        except UnicodeDecodeError:
            return ch
    return ch


def fix_text_subset(text):
    out = []
    for ch in text:
        ch = c1_as_cp1252(ch)
        if ord(ch) in LIGATURES:
            out.append(LIGATURES[ord(ch)])
        elif ord(ch) in WIDTH:
            out.append(WIDTH[ord(ch)])
        else:
            if "\u2018" <= ch <= "\u201b":
                ch = "'"
            elif "\u201c" <= ch <= "\u201f":
                ch = '"'
            if ord(ch) not in CONTROLS:
                out.append(ch)
    return "".join(out)


def clean(text):
    text = html.unescape(html.unescape(text))
    text = fix_text_subset(text)
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.lower()


def load_bpe():
    lines = gzip.open(MERGES).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return dict(zip(vocab, range(len(vocab)))), dict(zip(merges, range(len(merges))))


ENCODER, RANKS = load_bpe()
BYTE_ENCODER = bytes_to_unicode()


def bpe(token):
    if token in ("<|startoftext|>", "<|endoftext|>"):
        return [token]
    word = tuple(token[:-1]) + (token[-1] + "</w>",)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        bigram = min(pairs, key=lambda p: RANKS.get(p, float("inf")))
        if bigram not in RANKS:
            break
        first, second = bigram
        new_word, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                new_word.append(first + second)
                i += 2
            else:
                new_word.append(word[i])
                i += 1
        word = tuple(new_word)
    return list(word)


def encode(raw):
    text = clean(raw.decode("utf-8", errors="replace"))
    ids = []
    for piece in PATTERN.findall(text):
        if piece not in ("<|startoftext|>", "<|endoftext|>"):
            piece = "".join(BYTE_ENCODER[b] for b in piece.encode("utf-8"))
        ids.extend(ENCODER[t] for t in bpe(piece))
    return ids


INPUTS = [
    "a photo of a cat.",
    "A photo of a cat.",
    "a diagram",
    "a dog",
    "hello world",
    "you're 1234 !!",
    "",
    "   \t\n  ",
    "It's a DOG'S life, isn't it? We'll see; they'd've... I'M here, YOU'RE there.",
    "don\u2019t stop \u2014 \u201cquoted\u201d text",
    "Price: $1,299.99 (20% off) #deal @shop",
    "3.14159 26535 \u2154 \u00bd \u00b2 \u0663",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m",
    "cafe\u0301 nai\u0308ve",
    "Stra\u00dfe \u039f\u0394\u039f\u03a3 \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 \u0130stanbul",
    "\U0001f600 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f3f3\ufe0f\u200d\U0001f308",
    "\u6771\u4eac\u30bf\u30ef\u30fc\u306e\u5199\u771f",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u042d\u0442\u043e \u0442\u0435\u0441\u0442.",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "&amp; &lt;b&gt;bold&lt;/b&gt; &quot;x&quot; &#39;y&#39; &#x27;z&#x27;",
    "&amp;amp; &amp;amp;amp; double-escaped",
    "fish &amp chips &copy 2020 &eacute;t&eacute; &nbsp;x&ampfoo &notanentity; & alone &hellip; &mdash;",
    "&#8217;s &#x201C;hi&#x201D; &#150; &#0; &#1; &#xD800; &#1114112; &#65;&#66 &#x;",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 100,
    "!!!???...,,,;;;:::---___***",
    "<|startoftext|>a cat<|endoftext|>",
    "<|ENDOFTEXT|> !<|endoftext|>",
    "\ufb01sh \ufb02ow \u0133ssel \ufb05",
    "\uff21\uff22\uff23\u3000\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48\uff01 \uff76\uff80\uff76\uff85",
    "tab\tnew\nline\r\nvt\x0bff\x0cnul\x00end\x1fus",
    "\ufeffBOM at start and \u200bzero width\u200b space",
    "\u202eRTL override\u202c text \u200fmark",
    b"caf\xc3 \xff\xfe bad \xe2\x80 trunc \xed\xa0\x80 surrogate \xc0\xaf overlong \xf4\x90\x80\x80 big",
    b"end with partial \xe2\x82",
    "C1 controls: \x85 \x91quoted\x92 \x80 \x81 \x9d",
    "\u017ft '\u017f DON'T 'S",
    "x'sy 'tis ''s '''re rock'n'roll",
    "e-mail: someone@example.com, url: https://example.com/path?q=1&r=2",
    "2023-01-15 12:30:45 +0100",
    "H\u2082O E=mc\u00b2 1st 2nd 3rd \u2460\u2461\u2462",
    "The quick brown fox jumps over the lazy dog",
    "a blurry photo of a t-shirt.",
    "a photo of the large \U0001f436 next to a small \U0001f431.",
    "zalgo: Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L",
    "\u216b \u217b \u2167",
    "\u01c4emal \u01c5 \u01c6",
    "\u00a0nbsp\u2009thin\u3000ideo\u2028ls\x1cfs\x85nel",
    "ASCII ~`^|\\{}[]<>",
    "mixed123abc456 v2.0 covid-19 1080p 4k",
    "\uff9f\uff65\u273f\u30fe\u2572(\uff61\u25d5\u203f\u25d5\uff61)\u2571\u273f\uff65\uff9f",
    "\u1f48\u03b4\u03c5\u03c3\u03c3\u03b5\u03cd\u03c2 \u1f00\u03c1\u03c7\u03ae",
    "a\u0301\u0316b o\u0308\u0304",
    "ma\u00f1ana \u00bfqu\u00e9? \u00a1s\u00ed! \u00e7a va \u0153uvre",
    "\u03a3 \u03a3\u0391 \u0391\u03a3. \u0391\u03a3\u0301",
]


def main():
    print("# made by tests/text/make_tokens.py from bpe_simple_vocab_16e6.txt.gz: input UTF-8 hex <TAB> encoded ids")
    for item in INPUTS:
        raw = item if isinstance(item, bytes) else item.encode("utf-8", errors="surrogatepass")
        print(raw.hex() + "\t" + " ".join(map(str, encode(raw))))


if __name__ == "__main__":
    main()
