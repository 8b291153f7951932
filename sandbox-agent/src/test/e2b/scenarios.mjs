// The E2B documentation's examples, run with the official SDK against the agent's envd face.
// Usage: ENVD_URL=http://127.0.0.1:PORT TOKEN=... node scenarios.mjs SCENARIO
// Each scenario prints one JSON object of what it observed; E2bSdkIT asserts on it.
import { Sandbox, CommandExitError } from 'e2b'

const url = process.env.ENVD_URL
const token = process.env.TOKEN

// Debug mode: the SDK calls no E2B API and talks plain HTTP to `sandboxUrl`. In debug mode
// Sandbox.connect() leaves the access token out (and sends no `headers` option to envd), so the
// token goes where Sandbox.connect puts the one E2B's API hands out: the constructor's
// envdAccessToken. The envd version is the one debug mode assumes.
function sandbox(accessToken) {
  return new Sandbox({
    sandboxId: 'agent',
    debug: true,
    sandboxUrl: url,
    envdAccessToken: accessToken,
    envdVersion: '99.99.99',
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function until(what, check, ms = 10000) {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what)
    await sleep(20)
  }
}

async function pids(sbx) {
  return (await sbx.commands.list()).map((p) => p.pid)
}

function describe(e) {
  return {
    name: e?.constructor?.name,
    exitCode: e?.exitCode,
    stderr: e?.stderr,
    message: String(e?.message ?? e),
  }
}

const scenarios = {
  // "Run commands in background", then kill.
  async background() {
    const sbx = sandbox(token)
    let out = ''
    const command = await sbx.commands.run('echo hello; sleep 10; echo world', {
      background: true,
      onStdout: (data) => {
        out += data
      },
    })
    await until('hello', () => out.includes('hello'))
    const listedBefore = (await pids(sbx)).includes(command.pid)
    const killed = await command.kill()
    let waited
    try {
      waited = await command.wait()
    } catch (e) {
      waited = describe(e)
    }
    await sleep(300)
    return { out, listedBefore, killed, waited, listedAfter: (await pids(sbx)).includes(command.pid) }
  },

  // commands.list() shows a background command as /bin/bash; kill(pid) drops it.
  async list() {
    const sbx = sandbox(token)
    const cmd = await sbx.commands.run('sleep 300', { background: true })
    const processes = await sbx.commands.list()
    const mine = processes.find((p) => p.pid === cmd.pid)
    const killed = await sbx.commands.kill(cmd.pid)
    await sleep(300)
    const after = await pids(sbx)
    const killedAgain = await sbx.commands.kill(cmd.pid)
    return { pid: cmd.pid, cmd: mine?.cmd, args: mine?.args, killed, listedAfter: after.includes(cmd.pid), killedAgain }
  },

  // PTY: create (timeoutMs 0), sendInput, resize, disconnect, connect with a new handler, wait.
  async pty() {
    const sbx = sandbox(token)
    const decoder = new TextDecoder()
    let first = ''
    let second = ''
    const terminal = await sbx.pty.create({
      cols: 80,
      rows: 24,
      onData: (data) => {
        first += decoder.decode(data)
      },
      timeoutMs: 0,
    })
    const pid = terminal.pid
    await sbx.pty.sendInput(pid, new TextEncoder().encode('echo "Hello from PTY"; stty size\n'))
    await until('hello', () => /Hello from PTY\r?\n24 80/.test(first))
    await sbx.pty.resize(pid, { cols: 100, rows: 30 })
    await sbx.pty.sendInput(pid, new TextEncoder().encode('stty size\n'))
    await until('new size', () => first.includes('30 100'))
    await terminal.disconnect()
    await sleep(300)
    const listedWhileDetached = (await pids(sbx)).includes(pid)
    const reconnected = await sbx.pty.connect(pid, {
      onData: (data) => {
        second += decoder.decode(data)
      },
    })
    await sbx.pty.sendInput(pid, new TextEncoder().encode('echo world-$((6*7))\n'))
    await until('world', () => second.includes('world-42'))
    await sbx.pty.sendInput(pid, new TextEncoder().encode('exit 0\n'))
    const result = await reconnected.wait()
    return {
      pid,
      firstSawHello: first.includes('Hello from PTY'),
      listedWhileDetached,
      secondSawWorld: second.includes('world-42'),
      exitCode: result.exitCode,
      listedAfter: (await pids(sbx)).includes(pid),
    }
  },

  // The 60 s default timeout, shown with a short one: the session ends when it runs out.
  async timeout() {
    const sbx = sandbox(token)
    const terminal = await sbx.pty.create({ cols: 80, rows: 24, onData: () => {}, timeoutMs: 1500 })
    const listedAtFirst = (await pids(sbx)).includes(terminal.pid)
    await sleep(3000)
    const listedAfter = (await pids(sbx)).includes(terminal.pid)
    let command
    const started = Date.now()
    try {
      await sbx.commands.run('sleep 30', { timeoutMs: 1000 })
      command = { name: 'none' }
    } catch (e) {
      command = describe(e)
    }
    const elapsedMs = Date.now() - started
    await sleep(500)
    const sleeping = (await sbx.commands.list()).filter((p) => p.args?.includes('sleep 30')).length
    return { listedAtFirst, listedAfter, command, elapsedMs, sleeping }
  },

  // Foreground commands: output, exit code, stderr; a failure raises CommandExitError.
  async run() {
    const sbx = sandbox(token)
    // stdin: true keeps stdin open for sendStdin, and closeStdin ends it.
    const reader = await sbx.commands.run('tr a-z A-Z', { background: true, stdin: true })
    await reader.sendStdin('piped\n')
    await reader.closeStdin()
    const piped = (await reader.wait()).stdout
    const ok = await sbx.commands.run('echo out; echo err >&2; pwd')
    let failed
    try {
      await sbx.commands.run('echo partial; echo bad >&2; exit 3')
      failed = { name: 'none' }
    } catch (e) {
      failed = { ...describe(e), isCommandExitError: e instanceof CommandExitError, stdout: e.stdout }
    }
    // stdin is off by default, as in envd: a command reading it sees end of file.
    const cat = await sbx.commands.run('cat; echo after-cat', { timeoutMs: 5000 })
    await sbx.files.makeDir('workdir')
    const env = await sbx.commands.run('echo "$GREETING" in $PWD', { envs: { GREETING: 'hi' }, cwd: 'workdir' })
    return {
      ok: { exitCode: ok.exitCode, stdout: ok.stdout, stderr: ok.stderr },
      failed,
      cat: cat.stdout,
      piped,
      env: env.stdout,
    }
  },

  // Files: write, read, list, exists, makeDir, rename, remove.
  async files() {
    const sbx = sandbox(token)
    const info = await sbx.files.write('notes/hello.txt', 'hi there\n')
    const text = await sbx.files.read('notes/hello.txt')
    const bytes = await sbx.files.write('notes/bin.dat', new Uint8Array([0, 1, 2, 255]))
    const back = Array.from(await sbx.files.read('notes/bin.dat', { format: 'bytes' }))
    // Several files in one multipart upload (each part named by its path), and a gzipped
    // octet-stream upload.
    const many = (await sbx.files.write([
      { path: 'notes/many/a.txt', data: 'A' },
      { path: 'notes/many/b.txt', data: 'BB' },
    ])).map((e) => e.path)
    await sbx.files.write('notes/many/z.txt', 'zipped', { gzip: true })
    const manyBack = [
      await sbx.files.read('notes/many/a.txt'),
      await sbx.files.read('notes/many/b.txt'),
      await sbx.files.read('notes/many/z.txt'),
    ]
    const deep = (await sbx.files.list('notes', { depth: 2 })).map((e) => e.path.replace(/.*\/notes\//, '')).sort()
    await sbx.files.remove('notes/many')
    const listed = (await sbx.files.list('notes')).map((e) => `${e.name}:${e.type}:${e.size}`).sort()
    const made = await sbx.files.makeDir('notes/sub/deeper')
    const madeAgain = await sbx.files.makeDir('notes/sub/deeper')
    const renamed = await sbx.files.rename('notes/hello.txt', 'notes/sub/moved.txt')
    const existsOld = await sbx.files.exists('notes/hello.txt')
    const existsNew = await sbx.files.exists('notes/sub/moved.txt')
    await sbx.files.remove('notes/bin.dat')
    let missing
    try {
      await sbx.files.read('notes/none.txt')
      missing = { name: 'none' }
    } catch (e) {
      missing = describe(e)
    }
    return {
      written: { path: info.path, name: info.name },
      many,
      manyBack,
      deep,
      text,
      binPath: bytes.path,
      back,
      listed,
      made,
      madeAgain,
      renamed: renamed.path,
      existsOld,
      existsNew,
      afterRemove: (await sbx.files.list('notes')).map((e) => e.name).sort(),
      missing,
    }
  },

  // "Watch directory for changes": events while files are written and removed, recursive too.
  async watch() {
    const sbx = sandbox(token)
    await sbx.files.makeDir('watched/sub')
    const events = []
    const handle = await sbx.files.watchDir('watched', (e) => events.push(`${e.type}:${e.name}`), {
      recursive: true,
    })
    await sbx.files.write('watched/new.txt', 'one')
    await sbx.files.write('watched/sub/deep.txt', 'two')
    await until('the creation below', () => events.includes('create:sub/deep.txt'))
    await sbx.files.write('watched/sub/deep.txt', 'two, again')
    await sbx.files.remove('watched/new.txt')
    await until('the removal', () => events.includes('remove:new.txt'))
    await handle.stop()
    await sbx.files.write('watched/after-stop.txt', 'three')
    await sleep(300)
    let missing
    try {
      await sbx.files.watchDir('no-such-dir', () => {})
    } catch (e) {
      missing = describe(e)
    }
    return { events, missing }
  },

  // A wrong token, and none at all (plain debug-mode connect), are refused on every kind of call.
  async refused() {
    const out = {}
    for (const [label, sbx] of [
      ['wrong', sandbox('not-the-token')],
      ['none', await Sandbox.connect('agent', { debug: true, sandboxUrl: url })],
    ]) {
      const attempts = {
        list: () => sbx.commands.list(),
        run: () => sbx.commands.run('touch /tmp/should-not-exist'),
        write: () => sbx.files.write('refused.txt', 'x'),
        read: () => sbx.files.read('refused.txt'),
      }
      for (const [what, attempt] of Object.entries(attempts)) {
        try {
          await attempt()
          out[`${label}.${what}`] = 'allowed'
        } catch (e) {
          out[`${label}.${what}`] = e?.constructor?.name
        }
      }
    }
    return out
  },
}

const name = process.argv[2]
if (!scenarios[name]) {
  console.error('unknown scenario ' + name)
  process.exit(2)
}
try {
  console.log(JSON.stringify(await scenarios[name]()))
  process.exit(0)
} catch (e) {
  console.error(e?.stack ?? e)
  process.exit(1)
}
