"""Import big stdlib modules and use each once: the cold-code workload of `cold_stdlib`.

Runs on CPython 3.12 and on PyPy (Python 3.9), so nothing newer than 3.9 is used. Output is
discarded; a wrong result raises, so a broken interpreter cannot look fast.
"""

import io


def use_argparse():
    import argparse

    p = argparse.ArgumentParser(prog="tool", description="a tool")
    p.add_argument("paths", nargs="*")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--mode", choices=["a", "b"], default="a")
    p.add_argument("--jobs", "-j", type=int, default=1)
    ns = p.parse_args(["-vv", "--mode", "b", "-j", "4", "x", "y"])
    assert ns.verbose == 2 and ns.paths == ["x", "y"] and ns.jobs == 4
    assert "usage: tool" in p.format_help()


def use_email():
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesParser

    msg = EmailMessage()
    msg["From"] = "Ann <ann@example.org>"
    msg["To"] = "Bob <bob@example.org>"
    msg["Subject"] = "Quarterly report"
    msg.set_content("Hello Bob,\n\nsee attached.\n")
    msg.add_attachment(b"\x00\x01" * 200, maintype="application", subtype="octet-stream",
                       filename="data.bin")
    raw = msg.as_bytes()
    back = BytesParser(policy=policy.default).parsebytes(raw)
    assert back["subject"] == "Quarterly report"
    assert len(list(back.iter_attachments())) == 1


def use_difflib():
    import difflib

    a = [f"line {i} {'x' * (i % 7)}\n" for i in range(300)]
    b = [ln.replace("x", "y") if i % 11 == 0 else ln for i, ln in enumerate(a)]
    diff = list(difflib.unified_diff(a, b, "a", "b"))
    assert diff
    difflib.SequenceMatcher(None, "".join(a), "".join(b)).ratio()


def use_pydoc():
    import pydoc

    text = pydoc.render_doc("json", renderer=pydoc.plaintext)
    assert "JSONDecoder" in text


def use_archives():
    import tarfile
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(20):
            zf.writestr(f"dir/file{i}.txt", f"content {i}\n" * 50)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert len(zf.namelist()) == 20
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as tf:
        data = b"payload\n" * 100
        info = tarfile.TarInfo("payload.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with tarfile.open(fileobj=io.BytesIO(tbuf.getvalue()), mode="r:gz") as tf:
        assert tf.getnames() == ["payload.txt"]


def use_xml():
    import xml.dom.minidom
    import xml.etree.ElementTree as ET

    root = ET.Element("catalog")
    for i in range(50):
        ET.SubElement(root, "book", id=str(i)).text = f"Title {i}"
    text = ET.tostring(root, encoding="unicode")
    dom = xml.dom.minidom.parseString(text)
    assert len(dom.getElementsByTagName("book")) == 50


def use_unittest():
    import unittest

    class T(unittest.TestCase):
        def test_a(self):
            self.assertEqual(sorted([3, 1, 2]), [1, 2, 3])

        def test_b(self):
            with self.assertRaises(ZeroDivisionError):
                _ = 1 / 0

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(T)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    assert result.wasSuccessful()


def use_asyncio():
    import asyncio

    async def worker(n, q):
        await asyncio.sleep(0)
        await q.put(n * n)

    async def main():
        q = asyncio.Queue()
        await asyncio.gather(*(worker(i, q) for i in range(20)))
        return sum([q.get_nowait() for _ in range(20)])

    assert asyncio.run(main()) == sum(i * i for i in range(20))


def use_dataclasses_typing():
    import dataclasses
    import typing

    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: tuple = ()

    p = dataclasses.replace(Point(1, 2), y=3)
    assert dataclasses.asdict(p) == {"x": 1, "y": 3, "tags": ()}
    assert typing.get_type_hints(Point)["x"] is int


def use_misc():
    import calendar
    import decimal
    import fractions
    import inspect
    import json
    import pprint
    import statistics
    import string
    import textwrap

    assert "Mo Tu We" in calendar.TextCalendar().formatmonth(2024, 2)
    decimal.getcontext().prec = 30
    assert str(decimal.Decimal(1) / decimal.Decimal(7))[:8] == "0.142857"
    assert fractions.Fraction(3, 9) + fractions.Fraction(1, 3) == fractions.Fraction(2, 3)
    assert inspect.signature(textwrap.fill).parameters["width"].default == 70
    data = {f"k{i}": [i, str(i), {"n": i}] for i in range(30)}
    assert json.loads(json.dumps(data)) == data
    pprint.pformat(data, width=60)
    assert statistics.median([5, 1, 3]) == 3
    assert string.Template("$a-$b").substitute(a=1, b=2) == "1-2"


def main():
    use_argparse()
    use_email()
    use_difflib()
    use_pydoc()
    use_archives()
    use_xml()
    use_unittest()
    use_asyncio()
    use_dataclasses_typing()
    use_misc()


if __name__ == "__main__":
    main()
