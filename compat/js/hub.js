// Textile's JS Hub client (@textile/hub), unmodified, against a hubctl server's grpc-web
// address, over websockets as a browser app uses it. testdata/script/js_*.txtar run it:
//
//   node hub.js COMMAND [ARGS...]   with HUB_WEB (http://HOST:PORT), HUB_KEY, HUB_SECRET
//
// Each check prints one line; anything unexpected exits 1 with the reason on stderr.
global.WebSocket = require('ws')
const fs = require('fs')
const { Buckets, Client, Users, PrivateKey, PublicKey, Query, Where } = require('@textile/hub')

const keyInfo = { key: process.env.HUB_KEY, secret: process.env.HUB_SECRET }
const host = process.env.HUB_WEB

function fail(msg) {
  throw new Error(msg)
}

// identity reads the identity kept in file, making it first when asked.
function identity(file, create) {
  if (create) {
    const id = PrivateKey.fromRandom()
    fs.writeFileSync(file, id.toString(), { mode: 0o600 })
    return id
  }
  return PrivateKey.fromString(fs.readFileSync(file, 'utf8').trim())
}

async function users(id) {
  const u = await Users.withKeyInfo(keyInfo, { host })
  await u.getToken(id)
  return u
}

// refusal runs fn, which must fail with exactly msg: a Hub app matches these strings.
async function refusal(what, fn, msg) {
  try {
    await fn()
  } catch (e) {
    if (e.message !== msg) fail(`${what}: got ${JSON.stringify(e.message)}, want ${JSON.stringify(msg)}`)
    console.log(`refused ${what}: ${e.message}`)
    return
  }
  fail(`${what}: succeeded, want ${JSON.stringify(msg)}`)
}

const commands = {
  // Thread names: newDB(id, name) sends the x-textile-thread-name header; getThread
  // finds the name, a second database of that name is refused, a missing name is the
  // Hub's "Thread not found" (what Buckets.getOrCreate relies on).
  async names() {
    const id = PrivateKey.fromRandom()
    const client = await Client.withKeyInfo(keyInfo, host)
    await client.getToken(id)
    const u = await users(id)
    await refusal('getThread of a missing name', () => u.getThread('js-named'), 'Thread not found')
    const dbID = await client.newDB(undefined, 'js-named')
    const found = await u.getThread('js-named')
    if (found.id !== dbID.toString()) fail(`getThread: ${JSON.stringify(found)}, want ${dbID}`)
    console.log(`getThread js-named: ${found.id}`)
    const list = await u.listThreads()
    if (!list.some((t) => t.name === 'js-named' && t.id === dbID.toString())) fail(`listThreads: ${JSON.stringify(list)}`)
    console.log(`listThreads: ${list.length}`)
    try {
      // A client of its own: the first one's context keeps the name it was given.
      const other = await Client.withKeyInfo(keyInfo, host)
      await other.getToken(id)
      await other.newDB(undefined, 'JS-Named')
    } catch (e) {
      if (!e.message.includes('already exists')) fail(`second JS-Named: ${e.message}`)
      console.log(`refused a second JS-Named: ${e.message}`)
      return
    }
    fail('a second database named JS-Named was made')
  },

  // Find: the server answers with ThreadDB's query meaning (pkg/query), where go-threads'
  // own Find stopped at the first instance without the field, sorted after limiting and
  // panicked on a sort over mixed types.
  async find() {
    const id = PrivateKey.fromRandom()
    const client = await Client.withKeyInfo(keyInfo, host)
    await client.getToken(id)
    const dbID = await client.newDB(undefined, 'js-find')
    await client.newCollection(dbID, { name: 'free', schema: { type: 'object', properties: { _id: { type: 'string' } } } })
    await client.create(dbID, 'free', [
      { _id: 'a', name: 'ann', age: 31, admin: true },
      { _id: 'b', name: 'bob' },
      { _id: 'c', name: 'cy', age: 'unknown' },
      { _id: 'd', name: 'dee', age: 25, admin: false },
      { _id: 'e', name: 'eve', age: 40 },
      { _id: 'f', name: 'fay', age: 25 },
      { _id: 'g', name: 'gus', age: null },
      { _id: 'h', name: 'hal', age: 52, admin: true },
    ])
    const checks = [
      ['age > 20 past instances without the field', new Where('age').gt(20), 'ann,dee,eve,fay,hal'],
      ['sorted by age over mixed types, limit 3', new Query().orderBy('age').limitTo(3), 'gus,dee,fay'],
      ['age >= 25 sorted desc, skip 1', new Where('age').ge(25).orderByDesc('age').skipNum(1), 'eve,ann,dee,fay'],
      ['name = bob or age = 52', new Where('name').eq('bob').or(new Where('age').eq(52)), 'bob,hal'],
    ]
    for (const [what, q, want] of checks) {
      const got = (await client.find(dbID, 'free', q)).map((i) => i.name).join(',')
      if (got !== want) fail(`find ${what}: ${got}, want ${want}`)
      console.log(`find ${what}: ${got}`)
    }
  },

  async 'mail-setup'(file) {
    const id = identity(file, true)
    const u = await users(id)
    const box = await u.setupMailbox()
    if (box !== (await u.setupMailbox())) fail('setupMailbox is not idempotent')
    if ((await u.getThread('hubmail')).id !== box) fail('getThread(hubmail) is not the mailbox')
    console.log(id.public.toString())
  },

  // mail-read prints each inbox message, decrypted and verified, and marks it read.
  async 'mail-read'(file) {
    const id = identity(file)
    const u = await users(id)
    for (const m of await u.listInboxMessages()) {
      if (m.from === id.public.toString()) {
        await u.deleteInboxMessage(m.id) // mail-watch's own
        continue
      }
      const body = Buffer.from(await id.decrypt(m.body)).toString()
      const verified = await PublicKey.fromString(m.from).verify(m.body, m.signature)
      console.log(`inbox from ${m.from} ${JSON.stringify(body)} verified ${verified}`)
      await u.readInboxMessage(m.id)
    }
    const unread = await u.listInboxMessages({ status: 2 /* UNREAD */ })
    if (unread.length !== 0) fail(`${unread.length} unread after reading them all`)
  },

  async 'mail-send'(file, to, body) {
    const id = identity(file)
    const u = await users(id)
    const msg = await u.sendMessage(id, PublicKey.fromString(to), new TextEncoder().encode(body))
    console.log(msg.id)
  },

  // mail-watch writes "watching" to ready once the inbox is watched, then prints the
  // first message from another key that arrives, decrypted. The watch is known to be on
  // when a message it sent itself arrives: the JS client does not say when its Listen
  // stream is in place, and a message sent before would be missed.
  async 'mail-watch'(file, ready) {
    const id = identity(file)
    const self = id.public.toString()
    const u = await users(id)
    const box = await u.getMailboxID()
    let watching = false
    await new Promise((resolve, reject) => {
      u.watchInbox(box, (reply, err) => {
        if (err) return reject(err)
        if (!reply || !reply.message) return
        if (reply.message.from === self) {
          if (!watching) {
            watching = true
            fs.writeFileSync(ready, 'watching\n')
          }
          return
        }
        id.decrypt(reply.message.body).then((b) => {
          console.log(`watched from ${reply.message.from} ${JSON.stringify(Buffer.from(b).toString())}`)
          resolve() // main exits, which ends the watch
        }, reject)
      })
      const ping = async (tries) => {
        if (watching) return
        if (tries === 0) return reject(new Error('the watch saw none of its own messages'))
        await u.sendMessage(id, id.public, new TextEncoder().encode('ping'))
        setTimeout(() => ping(tries - 1).catch(reject), 500)
      }
      ping(60).catch(reject)
    })
  },

  // buckets: a Hub app's buckets, as @textile/hub's Buckets does them. getOrCreate twice
  // (it relies on GetThread's exact "Thread not found", then newDB of "buckets"), pushes
  // one file and several (pushPaths interleaves them), lists, pulls, removes, and the
  // Hub's refusals. The bucket's key and database go to bucket.json for the script.
  async buckets() {
    const id = PrivateKey.fromRandom()
    const b = await Buckets.withKeyInfo(keyInfo, { host })
    await b.getToken(id)
    const { root, threadID } = await b.getOrCreate('js-bucket')
    if (!root) fail('getOrCreate: no root')
    const again = await b.getOrCreate('js-bucket')
    if (again.root.key !== root.key) fail('getOrCreate made a second bucket')
    console.log(`bucket ${root.key} ${threadID}`)
    fs.writeFileSync('bucket.json', JSON.stringify({ key: root.key, thread: threadID }))
    const content = Buffer.from('hello from js '.repeat(10000))
    const pushed = await b.pushPath(root.key, 'dir/hello.txt', content)
    console.log(`pushPath dir/hello.txt ${pushed.path.path}`)
    const files = []
    for (let i = 0; i < 5; i++) files.push({ path: `many/f${i}.txt`, content: Buffer.from(`file ${i} `.repeat(5000 * (i + 1))) })
    files.push({ path: 'many/empty.txt', content: Buffer.alloc(0) })
    let results = 0
    for await (const r of b.pushPaths(root.key, files)) results++
    if (results !== files.length) fail(`pushPaths gave ${results} results for ${files.length} files`)
    console.log(`pushPaths ${results}`)
    const list = await b.listPath(root.key, 'many')
    if (list.item.items.length !== files.length) fail(`listPath many: ${list.item.items.length} items`)
    const chunks = []
    for await (const c of b.pullPath(root.key, 'dir/hello.txt')) chunks.push(Buffer.from(c))
    if (!Buffer.concat(chunks).equals(content)) fail('pullPath differs from what was pushed')
    console.log('pullPath dir/hello.txt: same bytes')
    const links = await b.links(root.key)
    if (!links.url || !links.ipns) fail(`links: ${JSON.stringify(links)}`)
    console.log(`links ${links.url} ${links.ipns}`)
    await b.removePath(root.key, 'many/f0.txt')
    if ((await b.listPath(root.key, 'many')).item.items.length !== files.length - 1) fail('removePath left the file')
    console.log('removePath many/f0.txt')
    const stale = (await b.listPath(root.key, '')).root.path
    await b.pushPath(root.key, 'b.txt', Buffer.from('b'))
    await refusal('pushPath from a stale root', () => b.pushPath(root.key, 'c.txt', Buffer.from('c'), { root: stale }), 'update is non-fast-forward')
    try {
      await b.pushPath(root.key, '../x', Buffer.from('x'))
      fail('a path with .. was taken')
    } catch (e) {
      if (!e.message.includes('..')) fail(`a path with ..: ${e.message}`)
      console.log(`refused ..: ${e.message}`)
    }
    // Another identity: a public bucket is everyone's to read, its owner's to write.
    const other = await Buckets.withKeyInfo(keyInfo, { host })
    await other.getToken(PrivateKey.fromRandom())
    other.withThread(threadID)
    const seen = await other.listPath(root.key, 'dir')
    if (seen.item.items.length !== 1) fail(`another identity lists dir: ${seen.item.items.length} items`)
    console.log('another identity lists the public bucket')
    await refusal('another identity pushes', () => other.pushPath(root.key, 'dir/x.txt', Buffer.from('x')), 'permission denied: dir/x.txt of bucket ' + root.key + ' needs the writer role, which your identity does not have there: ask its owner or an admin of the path to grant it (hubctl bucket roles grant)')
  },

  // private: an encrypted bucket (create with encrypted: true) round trips; another
  // identity sees nothing of it until the owner grants it reader on a path
  // (pushPathAccessRoles), then reads that path and nothing else.
  async private() {
    const owner = PrivateKey.fromRandom()
    const b = await Buckets.withKeyInfo(keyInfo, { host })
    await b.getToken(owner)
    const { threadID } = await b.getOrCreate('js-other')
    const { root } = await b.create('js-private', { encrypted: true })
    if (!root.key) fail(`create encrypted: ${JSON.stringify(root)}`)
    const content = Buffer.from('private from js '.repeat(20000))
    await b.pushPath(root.key, 'shared/doc.txt', content)
    await b.pushPath(root.key, 'mine.txt', Buffer.from('only mine'))
    const pulled = []
    for await (const c of b.pullPath(root.key, 'shared/doc.txt')) pulled.push(Buffer.from(c))
    if (!Buffer.concat(pulled).equals(content)) fail('pullPath of a private file differs')
    console.log('private pullPath: same bytes')
    fs.writeFileSync('private.json', JSON.stringify({ key: root.key, thread: threadID, path: (await b.root(root.key)).path }))

    const reader = PrivateKey.fromRandom()
    const r = await Buckets.withKeyInfo(keyInfo, { host })
    await r.getToken(reader)
    r.withThread(threadID)
    await refusal('a stranger lists the private bucket', () => r.listPath(root.key, ''), 'db not found')
    const roles = new Map()
    roles.set(reader.public.toString(), 1)
    await b.pushPathAccessRoles(root.key, '/shared', roles)
    const got = await b.pullPathAccessRoles(root.key, '/shared')
    if (got.get(reader.public.toString()) !== 1) fail(`pullPathAccessRoles: ${JSON.stringify([...got])}`)
    const chunks = []
    for await (const c of r.pullPath(root.key, 'shared/doc.txt')) chunks.push(Buffer.from(c))
    if (!Buffer.concat(chunks).equals(content)) fail('the reader pulls different bytes')
    console.log('reader pulls shared/doc.txt: same bytes')
    await refusal('the reader pulls mine.txt', async () => { for await (const _ of r.pullPath(root.key, 'mine.txt')) {} }, 'permission denied: mine.txt of bucket ' + root.key + ' needs the reader role, which your identity does not have there: ask its owner or an admin of the path to grant it (hubctl bucket roles grant)')
    await refusal('the reader pushes', () => r.pushPath(root.key, 'shared/x.txt', Buffer.from('x')), 'permission denied: shared/x.txt of bucket ' + root.key + ' needs the writer role, which your identity does not have there: ask its owner or an admin of the path to grant it (hubctl bucket roles grant)')
  },

  // mail-errors: the Hub's answers reach the JS client intact.
  async 'mail-errors'(file) {
    const id = identity(file)
    const u = await users(id)
    const missing = '01nosuchmessage00000000000'
    await refusal('readInboxMessage of a missing ID', () => u.readInboxMessage(missing), `message ${missing} not found in your inbox`)
    await refusal('deleteInboxMessage of a missing ID', () => u.deleteInboxMessage(missing), `message ${missing} not found in your inbox`)
    const stranger = PrivateKey.fromRandom()
    await refusal('sendMessage to a key without a mailbox', () => u.sendMessage(id, stranger.public, new Uint8Array([1])), 'mail not found')
  },
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2)
  if (!commands[cmd]) fail(`usage: node hub.js ${Object.keys(commands).join('|')} ...`)
  if (!host || !keyInfo.key || !keyInfo.secret) fail('set HUB_WEB, HUB_KEY and HUB_SECRET')
  await commands[cmd](...args)
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`hub.js: ${e && e.message ? e.message : e}`)
    process.exit(1)
  },
)
