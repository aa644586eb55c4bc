/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Server families and where each keeps what a remedy has to name. Told apart
 * from the Server / User-Agent header of the challenging response; Asterisk's
 * two channel drivers send the same Server header, so the challenge's shape
 * decides (PJSIP sends opaque and qop="auth"; chan_sip sends neither).
 */
#include "server.h"

#include <string.h>
#include <strings.h>

static bool contains_ci(const char *hay, const char *needle)
{
        size_t n = strlen(needle);

        for (; hay && *hay; hay++)
                if (strncasecmp(hay, needle, n) == 0)
                        return true;
        return false;
}

ServerFamily server_family_detect(const char *agent, bool pjsip_shape)
{
        if (!agent || !*agent)
                return SERVER_GENERIC;
        if (contains_ci(agent, "asterisk"))
                return pjsip_shape ? SERVER_ASTERISK_PJSIP : SERVER_ASTERISK_CHAN_SIP;
        if (contains_ci(agent, "freeswitch"))
                return SERVER_FREESWITCH;
        if (contains_ci(agent, "kamailio"))
                return SERVER_KAMAILIO;
        if (contains_ci(agent, "opensips"))
                return SERVER_OPENSIPS;
        return SERVER_GENERIC;
}

static const struct {
        const char *name, *reload, *secret, *realm, *nonce, *algorithm;
        const char *block;    /* how this server blocks a source */
        const char *activity; /* where its registrations and calls are seen */
} fam[] = {
    [SERVER_GENERIC] = {"server", "reload the server's credentials",
                        "the account's password or HA1 on the server",
                        "the server's realm/domain setting", "the server's nonce lifetime setting",
                        "the server's digest algorithm setting",
                        "the server's or firewall's source blocking",
                        "the server's registrations and call records (CDRs)"},
    [SERVER_ASTERISK_PJSIP] =
        {"Asterisk PJSIP", "asterisk -rx 'pjsip reload'",
         "password= (or md5_cred=) of the type=auth section in pjsip.conf",
         "realm= of the auth section, default_realm in [global] of pjsip.conf",
         "nonce_lifetime= of the auth section in pjsip.conf",
         "the auth section's algorithm settings in pjsip.conf (supported by the Asterisk version "
         "in use)",
         "an Asterisk ACL (deny/permit on the endpoint or acl.conf) and fail2ban's asterisk jail",
         "asterisk -rx 'pjsip show contacts' and the CDRs"},
    [SERVER_ASTERISK_CHAN_SIP] =
        {"Asterisk chan_sip", "asterisk -rx 'sip reload'",
         "secret= (or md5secret=) of the peer in sip.conf", "realm= in [general] of sip.conf",
         "chan_sip issues a new nonce per challenge; check for several "
         "Asterisk nodes behind one address",
         "chan_sip supports MD5 only",
         "an Asterisk ACL (deny/permit on the peer or acl.conf) and fail2ban's asterisk jail",
         "asterisk -rx 'sip show peers' and the CDRs"},
    [SERVER_ASTERISK] = {"Asterisk", "asterisk -rx 'pjsip reload' or 'sip reload'",
                         "the peer's password in pjsip.conf or sip.conf",
                         "the realm setting in pjsip.conf or sip.conf",
                         "nonce_lifetime in pjsip.conf", "the digest algorithm settings",
                         "an Asterisk ACL (deny/permit or acl.conf) and fail2ban's asterisk jail",
                         "asterisk -rx 'pjsip show contacts' (or 'sip show peers') and the CDRs"},
    [SERVER_FREESWITCH] =
        {"FreeSWITCH", "fs_cli -x 'reloadxml'",
         "the password (or a1-hash) param of the user in directory/",
         "the sofia profile's auth realm (challenge-realm)", "nonce-ttl of the sofia profile",
         "the sofia profile's auth algorithm settings",
         "apply-inbound-acl/apply-register-acl on the sofia profile and fail2ban's freeswitch jail",
         "fs_cli -x 'sofia status profile internal reg' and the CDRs"},
    [SERVER_KAMAILIO] = {"Kamailio",
                         "nothing to reload: auth_db reads the subscriber table on every request "
                         "(kamcmd htable.reload if the secrets live in an htable)",
                         "the subscriber table (password, ha1, ha1b columns)",
                         "the realm argument of www_authorize/auth_check",
                         "modparam(\"auth\", \"nonce_expire\") and the shared secret on every node",
                         "modparam(\"auth\", \"algorithm\")",
                         "the pike module with an htable ban (pike_check_req) in the request route",
                         "kamcmd ul.dump and the acc records"},
    [SERVER_OPENSIPS] = {"OpenSIPS",
                         "nothing to reload: auth_db reads the subscriber table on every request",
                         "the subscriber table (password, ha1 columns)",
                         "the realm argument of www_authorize",
                         "modparam(\"auth\", \"nonce_expire\")",
                         "the algorithm argument of www_challenge",
                         "the pike module (pike_check_req) and a userblacklist",
                         "opensips-cli -x mi ul_dump and the acc records"},
};

const char *server_family_name(ServerFamily f)
{
        return fam[f].name;
}
const char *server_reload_hint(ServerFamily f)
{
        return fam[f].reload;
}
const char *server_secret_hint(ServerFamily f)
{
        return fam[f].secret;
}
const char *server_realm_hint(ServerFamily f)
{
        return fam[f].realm;
}
const char *server_nonce_hint(ServerFamily f)
{
        return fam[f].nonce;
}
const char *server_algorithm_hint(ServerFamily f)
{
        return fam[f].algorithm;
}
const char *server_block_hint(ServerFamily f)
{
        return fam[f].block;
}
const char *server_activity_hint(ServerFamily f)
{
        return fam[f].activity;
}
