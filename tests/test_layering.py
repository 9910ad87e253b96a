"""House rule 2: core never imports streamlit."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_imports_no_streamlit():
    modules = sorted(p.stem for p in (ROOT / "core").glob("*.py") if p.stem != "__init__")
    code = (f"import sys\nfor m in {modules!r}: __import__('core.' + m)\n"
            "bad = [m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(modules) >= 8


def test_pages_hold_no_sql():
    for page in list((ROOT / "views").glob("*.py")) + list((ROOT / "ui").glob("*.py")):
        text = page.read_text()
        assert ".execute(" not in text, f"{page.name} runs SQL; move it into core"
        assert "unsafe_allow_html" not in text, f"{page.name} renders raw HTML"


def test_server_and_cli_import_no_streamlit_pages():
    # cli.py, the worker and the HTTP routes must run without Streamlit's page machinery.
    code = ("import sys\n"
            "import cli, server.settings, server.runtime, server.worker, server.routes\n"
            "bad = [m for m in sys.modules if m == 'ui' or m.startswith('ui.')"
            " or m == 'streamlit' or m.startswith('streamlit.')]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
