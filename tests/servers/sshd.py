#!/usr/bin/env python3
"""A private OpenSSH sshd on 127.0.0.1 for the SFTP tests (research/test-servers.md).

Its own config, generated host keys (ed25519 and ecdsa), a client key (ed25519) in its own
authorized_keys, internal-sftp, listening on a free high port; stopped by PID, its directory
removed. The login is the current user (root in CI) with the client key; `password_account()`
makes a local account with a password for password-login tests (root only).

As a module:    with Sshd() as server: server.port, server.client_key, server.known_hosts, ...
As a command:   sshd.py run -- COMMAND ARGS...   runs COMMAND with the server described in
                OFFSITE_SSHD_* environment variables, then stops it; exits with COMMAND's status.
                sshd.py start DIR / sshd.py stop DIR   for benchmarks (prints the variables).
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SSHD = "/usr/sbin/sshd"
PASSWORD_USER = "offsite-sftp-test"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keygen(path, kind, comment="offsite-test"):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", path]
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL)


def fingerprint(public_key_path):
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", public_key_path], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


class Sshd:
    def __init__(self, directory=None, extra_config=""):
        self.owned = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="offsite-sshd-")
        self.extra_config = extra_config
        self.port = None
        self.process = None
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.root = os.path.join(self.dir, "remote")        # the tests' remote space
        self.client_key = os.path.join(self.dir, "client_ed25519")
        self.known_hosts = os.path.join(self.dir, "known_hosts")  # trusts both host keys
        self.host_keys = {}                                   # type -> (path of .pub, fingerprint)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, port=None, keep_known_hosts=False):
        os.makedirs(self.root, exist_ok=True)
        os.makedirs("/run/sshd", exist_ok=True)  # privilege separation needs it
        for kind, key_type in (("ed25519", "ssh-ed25519"), ("ecdsa", "ecdsa-sha2-nistp256")):
            path = os.path.join(self.dir, f"ssh_host_{kind}_key")
            if not os.path.exists(path):
                keygen(path, kind)
            self.host_keys[key_type] = (path + ".pub", fingerprint(path + ".pub"))
        if not os.path.exists(self.client_key):
            keygen(self.client_key, "ed25519")
        self.authorize(self.client_key + ".pub")
        self.port = port or free_port()
        if not keep_known_hosts:
            with open(self.known_hosts, "w") as out:
                out.write(self.known_hosts_lines())
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as out:
            out.write(self.config_text())
        log = open(os.path.join(self.dir, "sshd.log"), "ab")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    if probe.recv(4).startswith(b"SSH"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {self.log_tail()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # by PID: this instance only
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.owned:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- helpers ---------------------------------------------------------------------------
    def config_text(self):
        lines = [
            f"Port {self.port}", "ListenAddress 127.0.0.1",
            f"HostKey {self.dir}/ssh_host_ed25519_key", f"HostKey {self.dir}/ssh_host_ecdsa_key",
            f"PidFile {self.dir}/sshd.pid", f"AuthorizedKeysFile {self.dir}/authorized_keys",
            "StrictModes no", "UsePAM no", "PasswordAuthentication yes",
            "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes", "Subsystem sftp internal-sftp", "LogLevel VERBOSE",
            "MaxStartups 100", "MaxSessions 100", "ClientAliveInterval 0",
        ]
        return "\n".join(lines) + "\n" + self.extra_config + "\n"

    def known_hosts_lines(self, types=None):
        lines = []
        for key_type, (public, _) in self.host_keys.items():
            if types and key_type not in types:
                continue
            with open(public) as source:
                fields = source.read().split()
            lines.append(f"[127.0.0.1]:{self.port} {fields[0]} {fields[1]}\n")
        return "".join(lines)

    def authorize(self, public_key_path):
        with open(public_key_path) as source:
            key = source.read().strip()
        path = os.path.join(self.dir, "authorized_keys")
        existing = open(path).read() if os.path.exists(path) else ""
        if key not in existing:
            with open(path, "a") as out:
                out.write(key + "\n")

    def replace_host_keys(self):
        """New host keys, same port: what a reinstalled server (or an attacker) shows."""
        for kind in ("ed25519", "ecdsa"):
            path = os.path.join(self.dir, f"ssh_host_{kind}_key")
            for name in (path, path + ".pub"):
                if os.path.exists(name):
                    os.remove(name)
            keygen(path, kind)
        port = self.port
        self.stop_process_only()
        self.start(port=port, keep_known_hosts=True)  # the old trust stays: the test wants it stale

    def stop_process_only(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def password_account(self, password):
        """A local account with `password` (created once; root only). Its home is its remote."""
        if os.getuid() != 0:
            return None
        try:
            pwd.getpwnam(PASSWORD_USER)
        except KeyError:
            subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", PASSWORD_USER],
                           check=True)
        subprocess.run(["chpasswd"], input=f"{PASSWORD_USER}:{password}\n", text=True, check=True)
        # nologin blocks shells, not internal-sftp
        return PASSWORD_USER

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, "sshd.log"), errors="replace") as source:
                return "".join(source.readlines()[-lines:])
        except OSError:
            return ""

    def environment(self):
        return {
            "OFFSITE_SSHD_PORT": str(self.port), "OFFSITE_SSHD_USER": self.user,
            "OFFSITE_SSHD_ROOT": self.root, "OFFSITE_SSHD_KEY": self.client_key,
            "OFFSITE_SSHD_KNOWN_HOSTS": self.known_hosts, "OFFSITE_SSHD_DIR": self.dir,
        }


def main(argv):
    if len(argv) >= 2 and argv[1] == "run":
        command = argv[argv.index("--") + 1:] if "--" in argv else argv[2:]
        with Sshd() as server:
            env = dict(os.environ, **server.environment())
            status = subprocess.call(command, env=env)
            if status != 0:
                sys.stderr.write(f"sshd log tail:\n{server.log_tail()}")
        return status
    if len(argv) == 3 and argv[1] == "start":
        os.makedirs(argv[2], exist_ok=True)
        server = Sshd(directory=argv[2]).start()
        for key, value in server.environment().items():
            print(f"export {key}={value}")
        print(f"export OFFSITE_SSHD_PID={server.process.pid}")
        return 0
    if len(argv) == 3 and argv[1] == "stop":
        with open(os.path.join(argv[2], "sshd.pid")) as source:
            os.kill(int(source.read().strip()), signal.SIGTERM)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
