"""A full disk (issue #7): the state and the dir: transport's output live on
a small tmpfs that fills up part-way through a send. The run must stop with
a clear error that names the state or the file and says what to do, exit 4
(work left), leave a state that passes SQLite's integrity check, and, once
there is space again, resume to the end with every recipient's message
written exactly once.

Root mounts a real tmpfs (ENOSPC). Without root the same test runs with a
file-size limit (RLIMIT_FSIZE: EFBIG on the state's writes), which is the
other way a disk says "no more"."""
import json
import os
import resource
import shutil
import subprocess
import tempfile

from harness import check, main, run

N = 4000


def write_campaign(d, out_dir):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "campaign.toml"), "w") as f:
        f.write('name = "full"\n[message]\nfrom = "Ex <support@example.com>"\n'
                'subject = "Hi {{first_name}}"\ntext = "body.txt"\n'
                f'[audience]\ncsv = "audience.csv"\n[transport]\nurl = "dir:{out_dir}"\n')
    with open(os.path.join(d, "body.txt"), "w") as f:
        f.write("Hello {{first_name}},\n\n" + "A line of the announcement.\n" * 20)
    with open(os.path.join(d, "audience.csv"), "w") as f:
        f.write("email,first_name\n")
        for i in range(N):
            f.write(f"user{i}@example{i % 40}.com,Name{i}\n")


def try_mount(mnt, size):
    if os.geteuid() != 0 or os.environ.get("SEALMAIL_TEST_NO_MOUNT"):
        return False
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt],
                       capture_output=True, timeout=30)
    return p.returncode == 0


def sealmail(a, *argv, fsize=None):
    def limit():
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([a.sealmail, *argv], capture_output=True, text=True, timeout=300,
                          preexec_fn=limit)


def test(a):
    tmp = tempfile.mkdtemp(prefix="sm_full_")
    mnt = os.path.join(tmp, "disk")
    os.makedirs(mnt)
    mounted = try_mount(mnt, "2m")
    try:
        camp = os.path.join(tmp, "c")
        out = os.path.join(mnt, "out")
        state = os.path.join(mnt, "state.db")
        write_campaign(camp, out)
        fsize = None if mounted else 1200 * 1024
        p = sealmail(a, "send", camp, "--state", state, "--quiet", "--json", fsize=fsize)
        msg = p.stdout + p.stderr
        check(p.returncode == 4, f"full disk: exit {p.returncode}, want 4\n{msg}")
        check(any(s in msg for s in ("No space left on device", "disk is full",
                                     "File too large", "free some disk space")),
              f"the error does not say the disk is full:\n{msg}")
        check(state in msg or out in msg, f"the error does not name the file:\n{msg}")
        files_before = len(os.listdir(out)) if os.path.isdir(out) else 0
        check(0 < files_before < N, f"the disk did not fill part-way through the send "
                                    f"({files_before} of {N} messages written)")
        ok = subprocess.run(["sqlite3", state, "PRAGMA integrity_check"], capture_output=True,
                            text=True, timeout=60)
        check(ok.stdout.strip() == "ok", f"state after a full disk: {ok.stdout}{ok.stderr}")

        # Space is back.
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True, timeout=30)
        for _ in range(3):  # bounded
            p = run(a.sealmail, "send", camp, "--state", state, "--quiet", "--json")
            if p.returncode == 0:
                break
        check(p.returncode == 0, f"did not resume after space came back: {p.stdout}{p.stderr}")
        names = [n for n in os.listdir(out) if n.endswith(".eml")]
        check(len(names) == N, f"{len(names)} messages for {N} recipients")
        check(not [n for n in os.listdir(out) if ".tmp." in n], "temp files left behind")
        st = json.loads(run(a.sealmail, "status", camp, "--state", state, "--json", want=0).stdout)
        check(st["total"] == N and st["sent"] == N, f"status {st}")
        how = ("tmpfs of 2 MiB" if mounted else
               f"RLIMIT_FSIZE {fsize // 1024} KiB (no tmpfs: not root, or SEALMAIL_TEST_NO_MOUNT)")
        print(f"{how}: stopped with exit 4 after {files_before} of {N} messages; resumed to "
              f"{N} sent, {st['possible_duplicates']} possible duplicates reported")
    finally:
        if mounted:
            subprocess.run(["umount", mnt], timeout=30)
        shutil.rmtree(tmp)


main(test)
