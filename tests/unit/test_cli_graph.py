"""`pausable-sfn graph`: the file it writes is an HTML page or an SVG, said before any AWS call."""

from pausable_sfn.ops.cli import EXIT_USAGE


def test_graph_writes_only_html_or_svg_files(aws, cli, tmp_path):
    code, _, err = cli("graph", "order-42", "-o", str(tmp_path / "order.png"))

    assert code == EXIT_USAGE
    assert "-o names an .html or .svg file, not order.png" in err
