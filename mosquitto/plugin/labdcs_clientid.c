/*
 * labdcs_clientid: a client id belongs to its user (Mosquitto 2.0 plugin, API version 5).
 *
 * An id of the form "<user>:<anything>" may only be used by the login <user>; any other login that
 * presents it is refused (CONNACK "not authorised") before it can take over the session of the
 * client holding it. Every labdcs service and device connects with such an id (labdcs.mqtt.owned_id),
 * so no other credential can knock it off the broker or take its persistent session. Ids without a
 * ':' (random ids of mosquitto_sub, Node-RED, third-party clients) are left to the other checks.
 *
 * The plugin only refuses: for any other connection it defers, and the password file decides.
 * docs/security.md explains why this and not the dynamic-security plugin.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

/* The values of MOSQ_ERR_AUTH, MOSQ_ERR_PLUGIN_DEFER and MOSQ_LOG_NOTICE (mosquitto.h, stable in
 * 2.0), under names of our own: mosquitto.h is in another package and these never change. */
#define REFUSE 11
#define DEFER 17
#define LOG_NOTICE_LEVEL (1 << 2)

static mosquitto_plugin_id_t *plugin_id = NULL;

/* True when the id names an owner ("<owner>:...") and the owner is not the user. */
static bool foreign_id(const char *clientid, const char *username)
{
	const char *colon = strchr(clientid, ':');
	if(colon == NULL){
		return false;
	}
	size_t owner = (size_t)(colon - clientid);
	return username == NULL || strlen(username) != owner || strncmp(clientid, username, owner) != 0;
}

static int basic_auth(int event, void *event_data, void *userdata)
{
	(void)event;
	(void)userdata;
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *clientid = mosquitto_client_id(ed->client);
	if(clientid != NULL && foreign_id(clientid, ed->username)){
		mosquitto_log_printf(LOG_NOTICE_LEVEL, "labdcs_clientid: user %s refused the client id %s of another user",
				ed->username ? ed->username : "(anonymous)", clientid);
		return REFUSE;
	}
	return DEFER;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for(int i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5){
			return 5;
		}
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, basic_auth, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, basic_auth, NULL);
}
