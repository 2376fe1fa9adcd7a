// command: a request from the control UI, checked against the device's meta, becomes a contract
// command on labdcs/v1/<device>/<channel>/cmd/<verb> (QoS 1, never retained).
//
// Input: msg.payload = { device, channel, verb, value } from the ui-template, or
//        { device, alarm, verb: 'acknowledge' } to acknowledge an alarm (.../alarm/<alarm>/cmd/acknowledge).
// Output 1: the command, to the mqtt out node (msg.topic, msg.payload, msg.qos, msg.retain).
// Output 2: a record { id, device, channel, verb, value, unit, user, sent, result, reason } for the
//           contract model, which shows it and matches the device's ack by id. A request that
//           fails the checks here is recorded as "refused" and never published.
// The device service checks everything again and answers every command with an ack.

const IDENT = /^[a-z0-9][a-z0-9_-]{0,62}$/
const model = flow.get('model') || { devices: {} }
const request = (msg.payload && typeof msg.payload === 'object') ? msg.payload : {}
const { device, verb } = request
const alarm = request.alarm === undefined ? null : request.alarm
const channel = alarm === null ? request.channel : `alarm/${alarm}`
const value = request.value === undefined ? null : request.value
const user = `ui:${env.get('NODERED_OPERATOR_USER') || 'operator'}`
const id = `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

let unit = ''
const withUnit = (number) => (unit ? `${number} ${unit}` : `${number}`)

function check () {
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

const reason = check()
const record = { id, device, channel, verb, value, unit, user, sent: Date.now(), result: 'pending', reason: null }
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
return [
    { topic: `labdcs/v1/${device}/${channel}/cmd/${verb}`, payload: JSON.stringify(command), qos: 1, retain: false },
    // (for an alarm, channel is "alarm/<alarm>": the topic is .../alarm/<alarm>/cmd/acknowledge)
    { topic: 'labdcs-ui/command', payload: record }
]
