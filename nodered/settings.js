/**
 * labdcs Node-RED settings: the one file used natively (`labdcs up`) and in the official
 * nodered/node-red image (docker-compose.yml mounts this folder at /labdcs/nodered).
 *
 * No secret is written here or in flows.json. Each comes from the environment, NAME or NAME_FILE
 * (a file such as a Docker secret, one trailing newline dropped), or is generated at the first
 * start into NODERED_SECRETS_DIR (files of mode 0600, folder 0700) and read from there afterwards:
 *
 *   NODERED_ADMIN_USER (admin)          editor and admin API login (all permissions)
 *   NODERED_ADMIN_PASSWORD_HASH[_FILE]  its bcrypt hash            generated: admin-password(-hash)
 *   NODERED_OPERATOR_USER (operator)    dashboard login (operators; no editor access)
 *   NODERED_OPERATOR_PASSWORD_HASH[_FILE]                          generated: operator-password(-hash)
 *   NODERED_CREDENTIAL_SECRET[_FILE]    key of <userDir>/flows_cred.json   generated: credential-secret
 *   LABDCS_MQTT__HOST, __PORT, __USERNAME, __PASSWORD[_FILE]   the broker (the project's names)
 *   NODERED_HOST (127.0.0.1)            address to listen on; the port is --port or PORT (1880)
 *   LABDCS_IDENTITY_URL                 the experiments manager: its people log in here (admins:
 *                                       editor; operators and admins: dashboard); the logins above
 *                                       stay as break-glass logins
 *   NODERED_FLOW_FILE                   flows to run (default: flows.json beside this file)
 *   LABDCS_NOTIFY_WEBHOOK_URL           optional: where the alarm notification flow posts
 *
 * The flows reach the broker through the config node BROKER_NODE_ID, whose host and port are
 * ${LABDCS_MQTT__HOST} and ${LABDCS_MQTT__PORT}. Its credentials cannot be written into flows.json,
 * so at every start this file sets them in <userDir>/flows_cred.json (encrypted with the credential
 * secret) to the references ${LABDCS_MQTT__USERNAME} and ${LABDCS_MQTT__PASSWORD}, which Node-RED
 * resolves from the environment: the file holds no credential either. See docs/nodered.md.
 */
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { createRequire } = require('module')

// bcryptjs is a dependency of Node-RED itself: resolve it from wherever Node-RED runs from
// (/usr/src/node-red in the official image), else beside this file (nodered/node_modules).
function nodeRedDependency (name) {
    const places = [require.main && require.main.filename, __filename].filter(Boolean)
    for (const place of places) {
        try {
            return createRequire(place)(name)
        } catch (err) {
            if (err.code !== 'MODULE_NOT_FOUND') {
                throw err
            }
        }
    }
    throw new Error(`labdcs Node-RED settings: cannot find ${name} (Node-RED's own dependency) from ${places.join(', ')}`)
}
const bcrypt = nodeRedDependency('bcryptjs')

const BROKER_NODE_ID = '1abdc5b70c3e0001'
const BCRYPT_ROUNDS = 10

function fail (message) {
    // Node-RED prints an error thrown while loading the settings and exits with status 1.
    throw new Error(`labdcs Node-RED settings: ${message}`)
}

/** NAME from the environment, or the content of the file named by NAME_FILE. */
function fromEnv (name) {
    const value = process.env[name]
    const file = process.env[`${name}_FILE`]
    if (value && file) {
        fail(`both ${name} and ${name}_FILE are set; set one`)
    }
    if (!file) {
        return value || undefined
    }
    let text
    try {
        text = fs.readFileSync(file, 'utf8')
    } catch (err) {
        fail(`cannot read ${name}_FILE ${file}: ${err.message}`)
    }
    text = text.replace(/\r?\n$/, '')
    if (!text) {
        fail(`${name}_FILE ${file} is empty`)
    }
    return text
}

/** The value of a command-line option the way Node-RED's own parser reads it (--userDir X, -u X). */
function argument (long, short) {
    const args = process.argv.slice(2)
    for (let i = 0; i < args.length; i++) {
        if (args[i] === long || args[i] === short) {
            return args[i + 1]
        }
        if (args[i].startsWith(`${long}=`)) {
            return args[i].slice(long.length + 1)
        }
    }
    return undefined
}

const userDir = path.resolve(argument('--userDir', '-u') || path.join(os.homedir(), '.node-red'))
const flowFile = path.resolve(process.env.NODERED_FLOW_FILE || path.join(__dirname, 'flows.json'))
const secretsDir = process.env.NODERED_SECRETS_DIR ? path.resolve(process.env.NODERED_SECRETS_DIR) : null

/** Write a secret file atomically with mode 0600 (never readable by others, even for a moment). */
function writeSecret (file, content) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    const temporary = `${file}.${process.pid}.tmp`
    fs.writeFileSync(temporary, `${content}\n`, { mode: 0o600 })
    fs.renameSync(temporary, file)
}

function readSecret (file) {
    const text = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '')
    if (!text) {
        fail(`${file} is empty; delete it to generate a new one`)
    }
    return text
}

function requireSecretsDir (what) {
    if (!secretsDir) {
        fail(`${what} is not set and NODERED_SECRETS_DIR, where one would be generated, is not set either`)
    }
    return secretsDir
}

/** A login (user and bcrypt hash): from the environment, or generated once into the secrets folder. */
function login (prefix, role, defaultUser) {
    const user = process.env[`${prefix}_USER`] || defaultUser
    let hash = fromEnv(`${prefix}_PASSWORD_HASH`)
    if (!hash) {
        const folder = requireSecretsDir(`${prefix}_PASSWORD_HASH`)
        const hashFile = path.join(folder, `${role}-password-hash`)
        if (!fs.existsSync(hashFile)) {
            const password = crypto.randomBytes(18).toString('base64url')
            writeSecret(path.join(folder, `${role}-password`), password)
            writeSecret(hashFile, bcrypt.hashSync(password, BCRYPT_ROUNDS))
            console.log(`labdcs: generated the Node-RED ${role} login '${user}'; its password is in ${path.join(folder, `${role}-password`)}`)
        }
        hash = readSecret(hashFile)
    }
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
        fail(`${prefix}_PASSWORD_HASH is not a bcrypt hash (make one with: npx node-red admin hash-pw)`)
    }
    return { user, hash }
}

function credentialSecret () {
    const configured = fromEnv('NODERED_CREDENTIAL_SECRET')
    if (configured) {
        return configured
    }
    const file = path.join(requireSecretsDir('NODERED_CREDENTIAL_SECRET'), 'credential-secret')
    if (!fs.existsSync(file)) {
        writeSecret(file, crypto.randomBytes(32).toString('hex'))
    }
    return readSecret(file)
}

// --- the broker: environment only --------------------------------------------------------------

process.env.LABDCS_MQTT__HOST = process.env.LABDCS_MQTT__HOST || 'localhost'
process.env.LABDCS_MQTT__PORT = process.env.LABDCS_MQTT__PORT || '1883'
const mqttPassword = fromEnv('LABDCS_MQTT__PASSWORD')
if (mqttPassword !== undefined) {
    process.env.LABDCS_MQTT__PASSWORD = mqttPassword
}
if (mqttPassword !== undefined && !process.env.LABDCS_MQTT__USERNAME) {
    fail('an MQTT password is set but no LABDCS_MQTT__USERNAME')
}

/**
 * Point the broker node's credentials at the environment, in Node-RED's own credentials file
 * (<userDir>/<flows>_cred.json, AES-256-CTR with the SHA-256 of the credential secret).
 */
function provisionBrokerCredentials (secret) {
    const extension = path.extname(flowFile)
    const file = path.join(userDir, `${path.basename(flowFile, extension)}_cred${extension}`)
    const key = crypto.createHash('sha256').update(secret).digest()
    let credentials = {}
    if (fs.existsSync(file)) {
        const stored = JSON.parse(fs.readFileSync(file, 'utf8'))
        if (stored.$) {
            try {
                const decipher = crypto.createDecipheriv('aes-256-ctr', key, Buffer.from(stored.$.slice(0, 32), 'hex'))
                credentials = JSON.parse(decipher.update(stored.$.slice(32), 'base64', 'utf8') + decipher.final('utf8'))
            } catch (err) {
                fail(`${file} cannot be decrypted with the configured credential secret (${err.message}); ` +
                    'restore the secret it was written with, or delete the file and enter the credentials of your own nodes again')
            }
        } else {
            credentials = stored
        }
    }
    const wanted = process.env.LABDCS_MQTT__USERNAME
        ? { user: '${LABDCS_MQTT__USERNAME}', password: mqttPassword !== undefined ? '${LABDCS_MQTT__PASSWORD}' : '' }
        : undefined
    if (fs.existsSync(file) && JSON.stringify(credentials[BROKER_NODE_ID]) === JSON.stringify(wanted)) {
        return // (written even when empty: Node-RED warns at every start when the file is missing)
    }
    if (wanted) {
        credentials[BROKER_NODE_ID] = wanted
    } else {
        delete credentials[BROKER_NODE_ID]
    }
    const initVector = crypto.randomBytes(16)
    const cipher = crypto.createCipheriv('aes-256-ctr', key, initVector)
    const encrypted = initVector.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64')
    fs.mkdirSync(userDir, { recursive: true })
    writeSecret(file, JSON.stringify({ $: encrypted }))
}

// --- logins --------------------------------------------------------------------------------------

const admin = login('NODERED_ADMIN', 'admin', 'admin')
const operator = login('NODERED_OPERATOR', 'operator', 'operator')
if (admin.user === operator.user) {
    fail('NODERED_ADMIN_USER and NODERED_OPERATOR_USER must differ')
}
const secret = credentialSecret()
provisionBrokerCredentials(secret)

// --- who logs in: the experiments manager's people, and the break-glass logins above ------------

/**
 * LABDCS_IDENTITY_URL (the experiments manager, e.g. http://experiments:8000) makes the manager's
 * accounts the logins here: a login is checked by GET <url>/auth/check with the browser's
 * Authorization header, which answers who it is and their role. Admins get the editor, operators
 * and admins the control dashboard; viewers read Grafana and the manager, they switch nothing here.
 * The logins generated above stay, as the break-glass logins for when the manager is down.
 */
const identityUrl = (process.env.LABDCS_IDENTITY_URL || '').replace(/\/+$/, '')
if (identityUrl && !/^https?:\/\/[^/]+/.test(identityUrl)) {
    fail(`LABDCS_IDENTITY_URL ${identityUrl} is not an http(s) URL`)
}
/** A checked login is remembered this long (a disabled account is out within it). */
const REMEMBER_MS = 60 * 1000
const IDENTITY_TIMEOUT_MS = 5000
const verified = new Map() // sha256 of the Authorization header -> { who, until }

function localLogin (name, password) {
    const account = [operator, admin].find((candidate) => candidate.user === name)
    if (!account || !bcrypt.compareSync(password, account.hash)) {
        return null
    }
    return { user: name, role: account === admin ? 'admin' : 'operator', local: true }
}

async function managerLogin (header, address) {
    if (!identityUrl) {
        return null
    }
    let answer
    try {
        answer = await fetch(`${identityUrl}/auth/check`, {
            // The browser's address: the manager throttles refused logins per address.
            headers: address ? { authorization: header, 'x-forwarded-for': address } : { authorization: header },
            signal: AbortSignal.timeout(IDENTITY_TIMEOUT_MS)
        })
    } catch (err) {
        console.warn(`labdcs: cannot reach the experiments manager at ${identityUrl} to check a login: ${err.message}`)
        return null
    }
    if (answer.status !== 200) {
        return null
    }
    const body = await answer.json()
    if (typeof body.user !== 'string' || !['admin', 'operator', 'viewer'].includes(body.role)) {
        console.warn(`labdcs: ${identityUrl}/auth/check answered no user and role`)
        return null
    }
    return { user: body.user, role: body.role, local: false }
}

/** Who a Basic Authorization header logs in: { user, role, local } or null. */
async function whoIs (header, address) {
    if (!header || !header.startsWith('Basic ')) {
        return null
    }
    const digest = crypto.createHash('sha256').update(header).digest('hex')
    const known = verified.get(digest)
    if (known && known.until > Date.now()) {
        return known.who
    }
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) {
        return null
    }
    const who = localLogin(decoded.slice(0, colon), decoded.slice(colon + 1)) || await managerLogin(header, address)
    if (who === null) {
        verified.delete(digest)
        return null
    }
    if (verified.size > 1000) {
        verified.clear()
    }
    verified.set(digest, { who, until: Date.now() + REMEMBER_MS })
    return who
}

const CONTROLS = ['admin', 'operator']

function httpNodeAuth (req, res, next) {
    if (req.method === 'OPTIONS') {
        return next()
    }
    whoIs(req.headers.authorization, req.socket.remoteAddress).then((who) => {
        if (who && CONTROLS.includes(who.role)) {
            return next()
        }
        if (who) {
            res.status(403).send(`${who.user} is a ${who.role}: the control dashboard is for operators and admins`)
            return
        }
        res.set('WWW-Authenticate', 'Basic realm="labdcs control", charset="UTF-8"')
        res.sendStatus(401)
    }, next)
}

/**
 * The person behind each dashboard connection (socket id -> { user, role, local }): the command
 * function claims them in the commands it sends (global.get('labdcsPeople').person(socketId)).
 */
const people = new Map()

/**
 * The dashboard's socket.io server is attached to the HTTP server directly, past httpNodeAuth:
 * check the same login on every connection, and keep the dashboard's own default checks
 * (no direct websocket without the polling handshake, no cross-origin connections).
 */
function dashboardSocketAuth (socket, next) {
    const request = socket.client.conn.request
    if (request.url.indexOf('transport=websocket') !== -1) {
        socket.client.conn.close()
        return
    }
    if (socket.handshake.xdomain !== false) {
        socket.disconnect(true)
        return
    }
    whoIs(request.headers.authorization, socket.handshake.address).then((who) => {
        if (!who || !CONTROLS.includes(who.role)) {
            next(new Error('login required'))
            return
        }
        people.set(socket.id, who)
        socket.on('disconnect', () => people.delete(socket.id))
        next()
    }, next)
}

/** The editor's logins: the local admin only; with the manager, its admins too (remembered here
 *  for Node-RED's session checks, which name the user without a password). */
const localEditor = { type: 'credentials', users: [{ username: admin.user, password: admin.hash, permissions: '*' }] }
const editors = new Map([[admin.user, { username: admin.user, permissions: '*' }]])
const editorAuth = !identityUrl ? localEditor : {
    type: 'credentials',
    // Node-RED checks a session by user name only: an hour, not its default week, so that an admin
    // disabled or demoted in the manager loses the editor within it.
    sessionExpiryTime: 3600,
    users: async (username) => editors.get(username) || null,
    authenticate: async (username, password) => {
        const header = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
        const who = await whoIs(header, '')
        if (!who || who.role !== 'admin') {
            return null
        }
        const user = { username: who.user, permissions: '*' }
        editors.set(who.user, user)
        return user
    }
}

module.exports = {
    userDir,
    flowFile,
    flowFilePretty: true,
    credentialSecret: secret,

    uiHost: process.env.NODERED_HOST || '127.0.0.1',
    uiPort: Number(process.env.PORT) || 1880,

    adminAuth: editorAuth,
    httpNodeAuth,
    functionGlobalContext: {
        labdcsPeople: { person: (socketId) => people.get(socketId) || null }
    },
    dashboard: {
        ioMiddleware: dashboardSocketAuth
    },

    // Node packages come from nodered/package.json (reviewed, pinned, installed by scripts/setup),
    // not from the editor's palette manager or function nodes.
    externalModules: {
        autoInstall: false,
        palette: { allowInstall: false, allowUpload: false },
        modules: { allowInstall: false }
    },
    functionExternalModules: false,
    functionTimeout: 0,

    // No calls home from a lab network.
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: true, ui: true },
    runtimeState: { enabled: false, ui: false },

    logging: {
        console: { level: process.env.NODERED_LOG_LEVEL || 'info', metrics: false, audit: false }
    },
    exportGlobalContextKeys: false,
    editorTheme: {
        page: { title: 'labdcs Node-RED' },
        header: { title: 'labdcs Node-RED' },
        tours: false
    }
}
