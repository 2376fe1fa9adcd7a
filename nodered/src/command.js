// command: a request from the control UI, checked against the device's meta, becomes a contract
// command on labdcs/v1/<device>/<channel>/cmd/<verb>/<sender> (QoS 1, never retained). <sender> is
// Node-RED's broker login (LABDCS_MQTT__USERNAME): the broker's ACL accepts no other name there, and
// the device audits it as the principal, next to the operator the command claims (`user`).
//
// Input: msg.payload = { device, channel, verb, value } from the ui-template, with `protocol` (text)
//        for load_protocol, or { device, alarm, verb: 'acknowledge' } to acknowledge an alarm
//        (.../alarm/<alarm>/cmd/acknowledge/<sender>).
// Output 1: the command, to the mqtt out node (msg.topic, msg.payload, msg.qos, msg.retain).
// Output 2: a record { id, device, channel, verb, value, unit, argument, user, sent, result, reason } for the
//           contract model, which shows it and matches the device's ack by id. A request that
//           fails the checks here is recorded as "refused" and never published.
// The device service checks everything again and answers every command with an ack.

const IDENT = /^[a-z0-9][a-z0-9_-]{0,62}$/
// Verbs whose argument is a text in a field of the contract's Command of its own, not in `value`
// (the cycler's load_protocol: the protocol document or its text form).
const TEXT_ARGUMENTS = { load_protocol: 'protocol' }
const MAX_TEXT = 100000 // characters: a protocol is a few hundred; this is a paste gone wrong
const model = flow.get('model') || { devices: {} }
const request = (msg.payload && typeof msg.payload === 'object') ? msg.payload : {}
const { device, verb } = request
const alarm = request.alarm === undefined ? null : request.alarm
const channel = alarm === null ? request.channel : `alarm/${alarm}`
const value = request.value === undefined ? null : request.value
const field = TEXT_ARGUMENTS[verb] || null
const text = field && typeof request[field] === 'string' ? request[field] : null
// Who sent it: the person logged in on this dashboard connection (settings.js records them per
// socket), by their account id in the experiments manager; a break-glass Node-RED login as ui:<name>.
const people = global.get('labdcsPeople')
const person = people && msg._client ? people.person(msg._client.socketId) : null
const user = person ? (person.local ? `ui:${person.user}` : person.user) : null
const sender = env.get('LABDCS_MQTT__USERNAME') || ''
const id = `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

let unit = ''
const withUnit = (number) => (unit ? `${number} ${unit}` : `${number}`)

function check () {
    if (user === null) {
        return 'no logged-in person on this dashboard connection: reload the page and log in'
    }
    if (!IDENT.test(sender)) {
        return 'Node-RED has no broker login (LABDCS_MQTT__USERNAME) to send commands under'
    }
    const levels = [device, alarm === null ? channel : alarm, verb]
    if (!levels.every((level) => typeof level === 'string' && IDENT.test(level))) {
        return 'device, channel (or alarm) and verb must be ids (a-z, 0-9, _ and -)'
    }
    const entry = model.devices[device]
    if (!entry || !entry.meta) {
        return `unknown device '${device}'`
    }
    if (entry.online !== true) {
        return `${device} is offline: commands are not queued for an offline device`
    }
    if (alarm !== null) {
        if (verb !== 'acknowledge') {
            return `alarms accept only 'acknowledge', not '${verb}'`
        }
        return entry.alarms && entry.alarms[alarm] ? (value === null ? null : 'acknowledge takes no value') : `no alarm '${alarm}' on ${device}`
    }
    const meta = (entry.meta.channels || []).find((c) => c.id === channel)
    if (!meta) {
        return `unknown channel '${channel}' of ${device}`
    }
    const command = (meta.commands || []).find((c) => c.verb === verb)
    if (!command) {
        const accepted = (meta.commands || []).map((c) => c.verb).join(', ') || 'none'
        return `${device}/${channel} does not accept '${verb}'; it accepts: ${accepted}`
    }
    unit = command.unit || ''
    for (const [other, name] of Object.entries(TEXT_ARGUMENTS)) {
        if (other !== verb && request[name] !== undefined && request[name] !== null) {
            return `${verb} takes no ${name}`
        }
    }
    if (field !== null) {
        if (text === null || text.trim() === '') {
            return `${verb} needs a ${field}: paste its text (the text form, YAML or JSON)`
        }
        if (text.length > MAX_TEXT) {
            return `the ${field} is ${text.length} characters long; at most ${MAX_TEXT} are sent`
        }
    }
    if (command.value === 'none') {
        return value === null ? null : `${verb} takes no value`
    }
    if (command.value === 'boolean') {
        return typeof value === 'boolean' ? null : `${verb} needs true or false`
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
        return `${verb} needs a number in ${unit || 'the unit of its meta'}`
    }
    if (command.max !== undefined && command.max !== null && value > command.max) {
        return `value ${withUnit(value)} is above the channel's limit ${withUnit(command.max)}`
    }
    if (command.min !== undefined && command.min !== null && value < command.min) {
        return `value ${withUnit(value)} is below the channel's limit ${withUnit(command.min)}`
    }
    return null
}

/** What the command log shows of a text argument (not the whole text): the protocol's name as its
 *  text form, YAML or JSON gives it, else its first line, shortened. */
function summary () {
    if (field === null || text === null) {
        return null
    }
    const named = /^\s*(?:Protocol:|name:|"name"\s*:)\s*"?([^"\n,}]+)/im.exec(text)
    const first = named ? named[1].trim() : text.split('\n').map((line) => line.trim()).find((line) => line !== '') || ''
    return `${field} ${first.length > 60 ? first.slice(0, 59) + '…' : first}`
}

const reason = check()
const record = {
    id, device, channel, verb, value, unit, argument: summary(), user, sent: Date.now(), result: 'pending', reason: null
}
if (reason) {
    record.result = 'refused'
    record.reason = reason
    node.warn(`refused ${device}/${channel} ${verb}: ${reason}`)
    return [null, { topic: 'labdcs-ui/command', payload: record }]
}
// Recorded before it is published, so that even an immediate ack finds its command.
model.commands.unshift(record)
const command = { id, user, ts: record.sent }
if (value !== null) {
    command.value = value
}
if (field !== null) {
    command[field] = text
}
return [
    { topic: `labdcs/v1/${device}/${channel}/cmd/${verb}/${sender}`, payload: JSON.stringify(command), qos: 1, retain: false },
    // (for an alarm, channel is "alarm/<alarm>": the topic is .../alarm/<alarm>/cmd/acknowledge/<sender>)
    { topic: 'labdcs-ui/command', payload: record }
]
