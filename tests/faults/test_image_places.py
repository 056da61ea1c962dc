"""Where things go in an image, refused when the profile is read or the image is planned -
not by an OSError out of the staging folder: a name longer than Linux takes, a file under
another file, an image that would take its own output, a share budget on a project file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from buildopt.config.profile import load_profile
from buildopt.errors import ProfileError
from tests.conftest import write_profile
from tests.faults.conftest import buildopt
from tests.faults.test_images import PROFILE, built, last_line, set_files  # noqa: F401

LONG = "a" * 256


def refusal(text: str) -> str:
    """Why load_profile refuses profile p of text, in a project of the files it names."""
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        for sub in ("profiles", "hello", "conf"):
            (project / sub).mkdir()
        (project / "conf" / "app.conf").write_text("x = 1\n")
        write_profile(project, "p", text)
        with pytest.raises(ProfileError) as info:
            load_profile("p", project)
    return info.value.message


@pytest.mark.parametrize(
    ("table", "key"),
    [
        (f'links = {{ "/usr/bin/{LONG}" = "/usr/bin/hello" }}', "links./usr/bin/"),
        (f'links = {{ "/usr/{LONG}/x" = "/usr/bin/hello" }}', "links./usr/"),
        (f'links = {{ "/usr/bin/x" = "{LONG}" }}', "links./usr/bin/x"),
        (f'layout = {{ "small" = "/usr/bin/{LONG}" }}', "layout.small"),
    ],
)
def test_a_name_longer_than_linux_takes_is_refused_when_read(table: str, key: str) -> None:
    """links = { "/usr/bin/<256 x a>" = ... } ended in exit 3 (OSError: [Errno 36] File name
    too long) after the build; files and layout in a message naming no key."""
    message = refusal(PROFILE.format(files="{}") + table + "\n")
    assert f"image[1].{key}" in message and "a name of 256 bytes" in message, message
    assert "Linux takes 255" in message


def test_a_file_name_longer_than_linux_takes_is_refused_when_read() -> None:
    message = refusal(PROFILE.format(files=f'{{ "/etc/{LONG}" = "conf/app.conf" }}'))
    assert "image[1].files" in message and "a name of 256 bytes" in message


def test_a_file_under_another_file_names_both_keys(built: Path) -> None:  # noqa: F811
    """Before: "conf/app.conf cannot go to /usr/bin/hello/x in the image: File exists"."""
    set_files(built, '{ "/usr/bin/hello/x" = "conf/app.conf" }')
    done = buildopt(["image", "--profile", "p"], cwd=built)
    assert done.returncode == 2, done.stderr
    line = last_line(done.stderr)
    assert "image[1].files./usr/bin/hello/x: under /usr/bin/hello" in line, line
    assert "small@linux-amd64" in line or "small@" in line, line


def test_an_image_never_takes_its_own_output(built: Path) -> None:  # noqa: F811
    """files = { "/img" = "dist/p/images/node.squashfs" } grew the image on every run."""
    assert buildopt(["image", "--profile", "p"], cwd=built).returncode == 0
    set_files(built, '{ "/img" = "dist/p/images/node.squashfs" }')
    done = buildopt(["image", "--profile", "p"], cwd=built)
    assert done.returncode == 2, done.stderr
    line = last_line(done.stderr)
    assert "image[1].files./img: " in line and "images folder" in line, line


def test_a_share_budget_selects_built_binaries_only(built: Path) -> None:  # noqa: F811
    """max_share = { "*/app.conf" = "1 B" } failed the project file conf/app.conf: the docs
    say a share is what the selected binaries take."""
    profile = built / "profiles" / "p.toml"
    profile.write_text(
        profile.read_text().replace('{ "small" = "64 MiB" }', '{ "*/app.conf" = "1 B" }')
    )
    done = buildopt(["image", "--profile", "p"], cwd=built)
    assert done.returncode == 2, done.stderr
    line = last_line(done.stderr)
    assert "max_share.*/app.conf: selects nothing" in line, line
    assert "it holds: small@" in line and "conf/app.conf" not in line, line


def test_plan_finds_a_link_that_leads_nowhere(tmp_path: Path) -> None:
    """A dangling link passed plan and build, refused only by image after the build."""
    from tests.faults.test_images import project_with

    project = project_with(tmp_path, "{}")
    text = (project / "profiles" / "p.toml").read_text()
    (project / "profiles" / "p.toml").write_text(text + 'links = { "/usr/bin/x" = "gone" }\n')
    done = buildopt(["plan", "--profile", "p"], cwd=project)
    assert done.returncode == 2, done.stderr
    line = last_line(done.stderr)
    assert "image[1].links./usr/bin/x: 'gone' leads to /usr/bin/gone" in line, line


def test_files_of_the_same_bytes_are_counted_once(built: Path) -> None:  # noqa: F811
    """Two copies of one file took 49.9% of the image each and the metadata was -1.15 MiB
    (against the schema's minimum 0): mksquashfs stores the data once, so the first copy
    takes it and the second names it."""
    import json
    import os

    big = built / "conf" / "big.bin"
    big.write_bytes(os.urandom(300 * 1024 + 77))  # blocks and a tail in a fragment
    (built / "conf" / "small.txt").write_text("tail only\n" * 5)
    set_files(
        built,
        '{ "/opt/a" = "conf/big.bin", "/opt/b" = "conf/big.bin", '
        '"/etc/s1" = "conf/small.txt", "/etc/s2" = "conf/small.txt" }',
    )
    done = buildopt(["image", "--profile", "p", "--json"], cwd=built)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["images"]
    files = {f["path"]: f for f in record["files"]}
    assert files["/opt/b"]["same_as"] == "/opt/a" and files["/opt/b"]["stored_bytes"] == 0
    assert files["/etc/s2"]["same_as"] == "/etc/s1" and files["/etc/s2"]["stored_bytes"] == 0
    assert files["/opt/a"]["stored_bytes"] > 300 * 1024  # random bytes do not compress
    assert record["metadata_bytes"] >= 0
    stored = sum(f["stored_bytes"] for f in record["files"])
    assert stored + record["metadata_bytes"] == record["bytes_used"] <= record["size"]
    assert all(f["extra"] for p, f in files.items() if p != "/usr/bin/hello")
    assert not files["/usr/bin/hello"].get("extra", False)
    shown = buildopt(["image", "--profile", "p"], cwd=built)
    assert "(same bytes as /opt/a: stored once)" in shown.stdout, shown.stdout


def test_the_report_never_shows_or_judges_a_stale_image(built: Path) -> None:  # noqa: F811
    """After a rebuild the report showed the image made before it and a PASS the gate then
    failed: an image whose inputs changed is named out of date, its checks skipped."""
    assert buildopt(["image", "--profile", "p"], cwd=built).returncode == 0
    page = built / "r.html"
    done = buildopt(["report", "--profile", "p", "-o", str(page)], cwd=built)
    assert done.returncode == 0, done.stderr
    assert "<h3>node: 1" in page.read_text() or "/usr/bin/hello" in page.read_text()
    assert "node: not shown" not in page.read_text()
    (built / "conf" / "app.conf").write_text("x = 2\n")  # an input of the image changed
    done = buildopt(["report", "--profile", "p", "-o", str(page)], cwd=built)
    assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert "<h3>node: not shown</h3>" in html and "out of date" in html, html[-3000:]
    assert '<span class="verdict pass">PASS</span> node' not in html
    assert "/etc/app.conf</td>" not in html  # the old image's files are not listed
    gate = buildopt(["gate", "--profile", "p"], cwd=built)  # the gate makes it again
    assert gate.returncode == 0, gate.stderr
    buildopt(["report", "--profile", "p", "-o", str(page)], cwd=built)
    assert "node: not shown" not in page.read_text()


def test_a_prebuilt_copy_first_in_the_image_does_not_hide_a_share(built: Path) -> None:  # noqa: F811
    """/opt/hello, a byte copy of the build, took its data (it comes first) and max_share of
    the build read 0 B: PASS under any limit."""
    import json

    binary = next((built / "dist" / "p" / "small").rglob("hello"))
    (built / "conf" / "hello-copy").write_bytes(binary.read_bytes())
    set_files(built, '{ "/opt/hello" = "conf/hello-copy" }')
    profile = built / "profiles" / "p.toml"
    profile.write_text(
        profile.read_text().replace('{ "small" = "64 MiB" }', '{ "small" = "1 KiB" }')
    )
    done = buildopt(["gate", "--profile", "p", "--json"], cwd=built)
    assert done.returncode == 1, done.stderr
    (share,) = [c for c in json.loads(done.stdout)["checks"] if c["check"] == "max_share[small]"]
    assert share["verdict"] == "fail", share


def test_a_share_of_a_build_not_made_yet_is_no_profile_error(built: Path) -> None:  # noqa: F811
    """After a partial build (--variant small), max_share of the other variant was "selects
    nothing" - a profile error, exit 2, from the gate - though the profile is right."""
    import json

    profile = built / "profiles" / "p.toml"
    text = profile.read_text().replace(
        'select = "small"\nfilesystem', 'select = ["small", "big"]\nfilesystem'
    )
    text = text.replace('{ "small" = "64 MiB" }', '{ "big" = "64 MiB" }')
    profile.write_text(text + "\n[variants.big]\ncgo = false\n")
    gate = buildopt(["gate", "--profile", "p", "--json"], cwd=built)
    assert gate.returncode == 0, gate.stderr
    rows = {(c["target"], c["check"]): c for c in json.loads(gate.stdout)["checks"]}
    share = rows[("node", "max_share[big]")]
    assert share["verdict"] == "skip" and "big@linux-amd64, not built yet" in share["note"], share
    done = buildopt(["image", "--profile", "p"], cwd=built)
    assert done.returncode == 2
    assert "max_share.big selects big@linux-amd64, not built yet: build it" in last_line(
        done.stderr
    )
    profile.write_text(
        text.replace('{ "big" = "64 MiB" }', '{ "bgi" = "64 MiB" }')
        + "\n[variants.big]\ncgo = false\n"
    )
    typo = buildopt(["gate", "--profile", "p"], cwd=built)  # a typo stays a profile error
    assert typo.returncode == 2 and "max_share.bgi: selects nothing" in last_line(typo.stderr)
