"""What the README and docs quote is what the code and the benchmarks' results say."""

from benchmarks.report_readme import BEGIN, END, README, readme_summary


def test_the_readmes_benchmark_numbers_are_those_of_the_result_files():
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == "\n".join(readme_summary()), "run python -m benchmarks.report"
    assert "| PN2V (MMSE) |" in block and "training step" in block


def test_every_benchmark_section_says_how_to_measure_it_again():
    from benchmarks.report_paths import DOC

    lines = DOC.read_text(encoding="utf-8").splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert len(headings) >= 8
    for i in headings:
        assert lines[i + 2].startswith("Measure again: `"), lines[i]
