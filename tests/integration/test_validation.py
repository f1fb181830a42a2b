"""Newcomer mistakes and the messages they get: every config and intent error at
file:line:column with a hint, unknown template variables and language keys refused with a
did-you-mean, --lang and --source checked, zero sources, an unusable data_dir or store, a
taken port (that one is in test_cli), a console whose stdin is a file."""
import os
import subprocess
import urllib.request

from integration.daemon import SLOW, binary, env_for_tests, wait_until


def run(*args, input=None, cwd=None, as_nobody=False, stdin=None, timeout=30):
    pre = None
    if as_nobody and os.geteuid() == 0:
        def pre():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
    kw = {"input": input} if stdin is None else {"stdin": stdin}
    return subprocess.run([binary(), *args], capture_output=True, text=True, cwd=cwd,
                          env=env_for_tests(), timeout=timeout * SLOW, preexec_fn=pre, **kw)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


INTENT = ("intents:\n"
          "  - name: thanks\n"
          "    priority: 10\n"
          "    patterns: ['\\bthanks\\b']\n"
          "    reply: 'thank you {{author}}!'\n")


def base(ctx, extra="", sources="sources: [{type: console}]\n"):
    write(os.path.join(ctx.dir, "intents", "a.yaml"), INTENT)
    return write(os.path.join(ctx.dir, "c.yaml"),
                 "bot: {handles: [brand]}\n"
                 "intents: {paths: [intents]}\n" + extra + sources)


def check(cfg, **kw):
    r = run("check", "-c", cfg, **kw)
    return r.returncode, r.stderr


def expect(err, *lines):
    for w in lines:
        assert w in err, f"missing {w!r} in\n{err}"


def test_yaml_syntax_errors_in_words(ctx):
    d = ctx.dir
    tab = write(os.path.join(d, "tab.yaml"), "bot: {handles: [brand]}\nintents:\n\tpaths: [x]\n")
    rc, err = check(tab)
    assert rc == 1
    expect(err, f"{tab}:3:1: error: a tab character: YAML indents with spaces only",
           "hint: replace the tab with spaces")
    # a tab later in a line (after spaces) is pointed at where it is
    tab2 = write(os.path.join(d, "tab2.yaml"), "bot: {handles: [brand]}\nintents:\n  \tpaths: [x]\n")
    rc, err = check(tab2)
    expect(err, f"{tab2}:3:3: error: a tab character")
    # too deep: the line itself, not the one after it
    ind = write(os.path.join(d, "ind.yaml"),
                "bot: {handles: [brand]}\nintents:\n  paths: [x]\n   default_language: en\n"
                "sources: []\n")
    rc, err = check(ind)
    assert rc == 1
    expect(err, f"{ind}:4:4: error: this line's indentation does not match the lines above it "
                "(line 3, column 3 starts the block)",
           "hint: line it up, with spaces")
    # an unclosed quote is reported where the string starts, not at the end of the file
    q = write(os.path.join(d, "q.yaml"), "bot: {handles: [brand]}\nlog_level: 'info\n"
              "intents: {paths: [x]}\nsources: []\n")
    rc, err = check(q)
    assert rc == 1
    expect(err, f"{q}:2:12: error: this string is not closed", "hint: close the string")


def test_paths_and_files_that_are_not_there(ctx):
    d = ctx.dir
    # a missing intents path: at its position, normalised (no config/../)
    os.makedirs(os.path.join(d, "config"))
    cfg = write(os.path.join(d, "config", "c.yaml"),
                "bot: {handles: [brand]}\nintents: {paths: [../config/../nothere]}\n"
                "sources: [{type: console}]\n")
    rc, err = check(cfg)
    assert rc == 1
    expect(err, f"{cfg}:2:19: error: intents path '{d}/nothere': does not exist",
           "hint: check intents.paths: relative paths are read from the configuration file's directory")
    assert "/../" not in err, err
    # a directory given as the configuration
    rc, err = check(d)
    assert rc == 1
    expect(err, f"{d}: error: is a directory, not a YAML file",
           "hint: give the YAML file itself, e.g. -c config/ackbot.yaml")
    assert "input error" not in err
    rc, err = check(os.path.join(d, "none.yaml"))
    assert rc == 1
    expect(err, f"{d}/none.yaml: error: cannot open: No such file or directory", "hint: check the path")


def test_unknown_template_variable_is_an_error_at_its_column(ctx):
    cfg = base(ctx)
    write(os.path.join(ctx.dir, "intents", "b.yaml"),
          "intents:\n"
          "  - name: late\n"
          "    priority: 50\n"
          "    patterns: ['\\blate\\b']\n"
          "    reply:\n"
          "      en: 'sorry {{author}}, your ticket is {{tiket}} & \"{{odrer}}\"'\n"
          "    handoff: {queue: orders}\n"
          "entities:\n"
          "  - name: order\n"
          "    patterns: ['#(?<order>\\d{4,})']\n")
    rc, err = check(cfg)
    assert rc == 1, err
    b = os.path.join(ctx.dir, "intents", "b.yaml")
    # 'sorry ... {{tiket}}': the braces of tiket open at column 41 of line 6
    line = "      en: 'sorry {{author}}, your ticket is {{tiket}} & \"{{odrer}}\"'"
    col = line.index("{{tiket}}") + 1
    col2 = line.index("{{odrer}}") + 1
    expect(err, f"{b}:6:{col}: error: unknown template variable 'tiket' in intent 'late'",
           "hint: did you mean {{ticket}}?",
           f"{b}:6:{col2}: error: unknown template variable 'odrer' in intent 'late'",
           "hint: did you mean {{order}}?")
    # it is an error for run too: the daemon does not start with it
    r = run("run", "-c", cfg, input="")
    assert r.returncode == 1, r.stderr
    assert "unknown template variable 'tiket'" in r.stderr


def test_reply_language_keys_and_cli_values_are_checked(ctx):
    cfg = base(ctx)
    b = write(os.path.join(ctx.dir, "intents", "b.yaml"),
              "intents:\n"
              "  - name: hi\n"
              "    priority: 5\n"
              "    patterns: ['\\bhello\\b']\n"
              "    reply:\n"
              "      en: 'hi'\n"
              "      sp: 'hola'\n"
              "      english: 'hi'\n"
              "      pt-BR: 'oi'\n")
    rc, err = check(cfg)
    assert rc == 1
    expect(err, f"{b}:7:7: error: unknown language 'sp' for a reply", "hint: did you mean 'es'?",
           f"{b}:8:7: error: unknown language 'english' for a reply", "hint: did you mean 'en'?")
    assert f"{b}:9:" not in err, err      # a region is fine
    os.remove(b)
    rc, err = check(cfg)
    assert rc == 0, err
    r = run("intents", "test", "-c", cfg, "--lang", "xx-garbage", "thanks")
    assert r.returncode == 2
    expect(r.stderr, "ackbot: unknown --lang 'xx-garbage'",
           "hint: a language is an ISO 639-1 code such as en, es, fr")
    r = run("intents", "test", "-c", cfg, "--lang", "pt-BR", "thanks")
    assert r.returncode == 0, r.stderr
    for cmd in (["intents", "test", "-c", cfg, "--source", "twitter", "thanks"],
                ["eval", "-c", cfg, "--source", "twitter", os.devnull]):
        r = run(*cmd)
        assert r.returncode == 2, (cmd, r.stderr)
        expect(r.stderr, "ackbot: unknown --source 'twitter'",
               f"hint: the sources configured in {cfg}: console")


def test_zero_sources_is_an_error_not_an_idle_daemon(ctx):
    cfg = base(ctx, sources="")
    rc, err = check(cfg)
    assert rc == 1
    expect(err, f"{cfg}:1:1: error: no sources: ackbot would never receive a mention",
           "hint: add a source, e.g. sources: [{type: console}]")
    cfg = base(ctx, sources="sources: []\n")
    rc, err = check(cfg)
    expect(err, f"{cfg}:3:10: error: no sources")
    # `echo ... | ackbot run` says so instead of idling forever
    r = run("run", "-c", cfg, input="@brand thanks\n", timeout=20)
    assert r.returncode == 1, r.stderr
    assert "no sources" in r.stderr


def test_data_dir_that_cannot_be_used(ctx):
    write(os.path.join(ctx.dir, "afile"), "x")
    cfg = base(ctx, extra="data_dir: afile\n")
    rc, err = check(cfg)
    assert rc == 1
    expect(err, f"{cfg}:3:11: error: data_dir '{ctx.dir}/afile': it is a file, not a directory",
           "hint: point data_dir at a directory")
    cfg = base(ctx, extra="data_dir: afile/sub\n")
    rc, err = check(cfg)
    expect(err, f"{cfg}:3:11: error: data_dir '{ctx.dir}/afile/sub': {ctx.dir}/afile is a file")
    # not writable by the user ackbot runs as
    os.chmod(ctx.dir, 0o755)
    ro = os.path.join(ctx.dir, "ro")
    os.makedirs(ro)
    os.chmod(ro, 0o555)
    cfg = base(ctx, extra="data_dir: ro/data\n")
    rc, err = check(cfg, as_nobody=True)
    assert rc == 1, err
    expect(err, f"{cfg}:3:11: error: data_dir '{ro}/data': permission denied (cannot create it in {ro})",
           "hint: give the user ackbot runs as write access")
    os.chmod(ro, 0o500)
    if os.geteuid() == 0:       # root enters any directory; nobody cannot enter this one
        rc, err = check(cfg, as_nobody=True)
        expect(err, f"{cfg}:3:11: error: data_dir '{ro}/data': permission denied (a directory on "
                    f"the way to {ro}/data cannot be entered)")


def test_store_errors_in_words(ctx):
    os.chmod(ctx.dir, 0o755)
    data = os.path.join(ctx.dir, "data")
    cfg = base(ctx, extra=f"data_dir: data\nadmin: {{listen: 127.0.0.1:{ctx.port}}}\n")
    # before the first run: no store yet, and how to make one
    r = run("handoff", "show", "-c", cfg, "T-NONE")
    assert "no store at" in r.stderr and "start the daemon once" in r.stderr, r.stderr
    # listing or purging nothing is no error
    r = run("handoff", "list", "-c", cfg)
    assert r.returncode == 0 and r.stdout.startswith("0 open handoffs (no store at "), r
    r = run("handoff", "list", "--json", "-c", cfg)
    assert r.returncode == 0 and r.stdout.strip() == "[]"
    r = run("handoff", "purge", "--source", "console", "-c", cfg)
    assert r.returncode == 0 and "nothing to purge" in r.stdout
    assert not os.path.exists(data)
    db = os.path.join(data, "ackbot.db")
    p = subprocess.Popen([binary(), "run", "-c", cfg], stdin=subprocess.PIPE,   # console on
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env_for_tests())
    def ready():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{ctx.port}/healthz", timeout=1).status == 200
        except OSError:
            return p.poll() is not None
    try:
        wait_until(ready, 10, "the daemon's /healthz")
        assert p.poll() is None, p.stderr.read()
    finally:
        p.terminate()
    assert p.wait(timeout=20 * SLOW) == 0
    assert os.path.exists(db)
    os.chmod(data, 0o777)
    for f in os.listdir(data):
        os.chmod(os.path.join(data, f), 0o600)
    if os.geteuid() != 0:
        os.chmod(db, 0o000)
    r = run("handoff", "list", "-c", cfg, as_nobody=True)
    assert r.returncode == 1
    assert f"store {db}: permission denied: this user (uid {65534 if os.geteuid() == 0 else os.geteuid()}) cannot read it" in r.stderr, r.stderr
    assert "unable to open database file" not in r.stderr
    r = run("run", "-c", cfg, as_nobody=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 3, r.stderr
    assert "permission denied" in r.stderr and "hint=" in r.stderr, r.stderr


def test_console_reads_a_file_or_dev_null_as_stdin(ctx):
    """enabled: on with stdin /dev/null once aborted in libuv (exit 134); a file gives its
    lines. Once the input has ended and no other source is on, ackbot stops by itself."""
    cfg = base(ctx, extra=f"data_dir: data\nadmin: {{listen: 127.0.0.1:{ctx.port}}}\n",
               sources="sources: [{type: console, enabled: on, cooldown: 0s}]\n")
    with open(os.devnull) as dn:
        r = subprocess.run([binary(), "run", "-c", cfg], stdin=dn, capture_output=True,
                           text=True, env=env_for_tests(), timeout=20 * SLOW)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert "end of input" in r.stdout and "event=input_ended" in r.stderr, r.stderr
    inp = write(os.path.join(ctx.dir, "in.txt"),
                "@brand thanks a lot\n\n@brand thanks again, no newline at the end")
    with open(inp) as f:
        r = subprocess.run([binary(), "run", "-c", cfg], stdin=f, capture_output=True,
                           text=True, env=env_for_tests(), timeout=20 * SLOW)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("thank you @") == 2, r.stdout


def test_piped_mentions_are_answered_then_ackbot_exits(ctx):
    """`echo "@brand thanks" | ackbot run` once idled forever without a word: the console
    (enabled: auto) was off for a pipe, and so was every other source."""
    cfg = base(ctx, extra=f"data_dir: data\nadmin: {{listen: 127.0.0.1:{ctx.port}}}\n",
               sources="sources: [{type: console, cooldown: 0s}, {type: webhook, "
                       "listen: '127.0.0.1:1', secret_env: NOT_SET_ANYWHERE}]\n")
    r = run("run", "-c", cfg, input="@brand thanks so much\n@brand thanks again\n", timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("[thanks] thank you @") == 2, r.stdout
    # the replies are recorded as sent, not left pending for a next start
    import sqlite3
    con = sqlite3.connect(os.path.join(ctx.dir, "data", "ackbot.db"))
    assert con.execute("SELECT state, count(*) FROM replies GROUP BY state").fetchall() == [(1, 2)]
    con.close()


def test_no_source_on_is_a_failed_start_that_says_why(ctx):
    cfg = base(ctx, extra=f"data_dir: data\nadmin: {{listen: 127.0.0.1:{ctx.port}}}\n",
               sources="sources: [{type: console}, {type: webhook, listen: '127.0.0.1:1', "
                       "secret_env: NOT_SET_ANYWHERE}, {type: console, name: off_one, "
                       "enabled: false}]\n")
    with open(os.devnull) as dn:
        r = run("run", "-c", cfg, stdin=dn, timeout=20)
    assert r.returncode == 3, r.stderr
    expect(r.stderr, 'error="no source is on: ackbot would never receive a mention"',
           'sources="console (off: stdin is not a terminal, a pipe or a file); webhook (off: '
           'NOT_SET_ANYWHERE is unset); off_one (enabled: false)"',
           "hint=\"give a source what it needs")


def test_intents_test_says_how_patterns_are_numbered(ctx):
    cfg = base(ctx)
    r = run("intents", "test", "-c", cfg, "@brand thanks")
    assert r.returncode == 0, r.stderr
    a = os.path.join(ctx.dir, "intents", "a.yaml")
    assert f"pattern 0 of its list, from 0, at {a}:4:16" in r.stdout, r.stdout
    r = run("intents", "test", "--help")
    for flag in ("--name", "--supporter", "--source", "--lang", "--json"):
        assert flag in r.stdout, (flag, r.stdout)
