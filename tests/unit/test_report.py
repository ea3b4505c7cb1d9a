import io
import threading

from kubefab.report import recap, say


def test_say_prefixes_every_line():
    out = io.StringIO()
    say("azure-prd-02", "one\ntwo\n", out)
    assert out.getvalue() == "[azure-prd-02] one\n[azure-prd-02] two\n"


def test_say_from_threads_never_interleaves_lines():
    out = io.StringIO()
    threads = [threading.Thread(target=say, args=(f"h{i}", "a\nb\nc", out)) for i in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    lines = out.getvalue().splitlines()
    assert len(lines) == 60
    for i in range(0, 60, 3):  # each host's three lines stay together
        host = lines[i].split("]")[0]
        assert [l.split("]")[0] for l in lines[i:i + 3]] == [host] * 3


def test_recap_names_the_rerun_command():
    out = io.StringIO()
    text = recap(["m", "n1", "n2"], {"m": ["wrote 3 files"]}, {"n2": "ssh 127.0.0.4:22: refused"},
                 "deploy", out)
    assert "m   changed    wrote 3 files" in text
    assert "n1  unchanged" in text
    assert "n2  failed     ssh 127.0.0.4:22: refused" in text
    assert text.rstrip().endswith("kubefab deploy --hosts n2")


def test_outcome_is_the_recap_as_data():
    from kubefab.report import outcome
    data = outcome(["m", "n1", "n2"], {"m": ["wrote 3 files"]}, {"n2": "ssh 127.0.0.4:22: refused"}, "deploy")
    assert data == {"task": "deploy", "ok": False, "rerun": "kubefab deploy --hosts n2", "hosts": {
        "m": {"result": "changed", "changes": ["wrote 3 files"]},
        "n1": {"result": "unchanged"},
        "n2": {"result": "failed", "reason": "ssh 127.0.0.4:22: refused", "changes": []}}}
    assert outcome(["m"], {}, {}, "deploy") == {"task": "deploy", "ok": True, "rerun": None,
                                                "hosts": {"m": {"result": "unchanged"}}}
    dry = outcome(["m", "n1"], {}, {}, "deploy", pending={"m": ["write 3 files"]})
    assert dry["hosts"] == {"m": {"result": "pending", "pending": ["write 3 files"]}, "n1": {"result": "unchanged"}}
