"""The transport's shared pieces: how a failed command becomes a one-line reason."""
import pytest

from kubefab.remote.transport import RemoteError, Result, checked


@pytest.mark.parametrize("argv, says", [
    (["systemctl", "restart", "kubernetes.apiserver.service"],
     "systemctl restart kubernetes.apiserver.service failed: boom"),
    (["systemctl", "enable", "--quiet", "a.service"], "systemctl enable --quiet ... failed: boom"),
    (["sh", "-c", "set -eu\nmkdir -p \"$1\"\n", "kubefab-put", "/x"], "kubefab-put failed: boom"),  # its name, no text
])
def test_a_failed_command_is_one_line_naming_it(argv, says):
    with pytest.raises(RemoteError) as e:
        checked(Result("...", 1, "", "noise\nboom\n"), argv, check=True)
    assert str(e.value) == says.replace("boom", "noise | boom")


def test_unchecked_failure_is_returned():
    r = Result("false", 1, "", "")
    assert checked(r, ["false"], check=False) is r and r.why() == "exit code 1"
