# -*- coding: utf-8 -*-
# Copyright (c) 2026, telphin.pbx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The connection options of the collection, written once.

    ``telphin.pbx.connection``: the options, for the modules and the inventory plugin alike.
    ``telphin.pbx.connection.ATTRIBUTES``: what only the modules add (the action group, the figures they return).
    ``telphin.pbx.connection.PLUGIN_OPTIONS``: what only the inventory plugin adds: plugins read environment
    variables through ``env:`` entries, where modules use an argspec fallback.
    """

    DOCUMENTATION = r'''
options:
  api_url:
    description:
      - Base URL of the provider's API host, without C(/api/ver1.0).
      - Telphin serves the API at the default; white-label providers serve it on their own hosts.
      - If not set, the value of the E(TELPHIN_API_URL) environment variable is used.
    type: str
    default: https://apiproxy.telphin.ru
  token_url:
    description:
      - URL of the OAuth 2 token endpoint.
      - Defaults to O(api_url) followed by C(/oauth/token), the path the vendor documents and every public client uses.
        Set it for a provider that serves the endpoint on another path or host.
      - If not set, the value of the E(TELPHIN_TOKEN_URL) environment variable is used.
    type: str
  app_id:
    description:
      - App ID of a C(trusted) app (OAuth 2 client credentials) of the tenant or of its dealer.
      - Needed, with O(app_secret), unless O(access_token) is given.
      - The modules take O(app_id) and O(app_secret) only together (C(required_together), counting the values taken
        from the environment variables); one without the other fails before any request, also next to
        O(access_token).
      - If not set, the value of the E(TELPHIN_APP_ID) environment variable is used.
    type: str
  app_secret:
    description:
      - App Secret of the trusted app. Never logged.
      - The modules take it only together with O(app_id).
      - If not set, the value of the E(TELPHIN_APP_SECRET) environment variable is used.
      - Prefer the environment variable (or an Ansible Vault encrypted value) to plain text in a file.
    type: str
  access_token:
    description:
      - A bearer token obtained elsewhere, instead of O(app_id) and O(app_secret). Never logged.
      - When the API rejects it with 401 and no app credentials are given, the run fails; with app
        credentials, a new token is fetched (see the notes).
      - If not set, the value of the E(TELPHIN_ACCESS_TOKEN) environment variable is used.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Setting V(false) prints a warning.
      - If not set, the value of the E(TELPHIN_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA certificate(s) to verify the API server with, for a private CA.
      - If not set, the value of the E(TELPHIN_CA_PATH) environment variable is used.
      - Without either, the bundle named by E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) is used, else the
        C(certifi) package's bundle, else the system's CA store.
      - Proxies come from E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY); C(~/.netrc) is never read.
    type: path
  timeout:
    description:
      - Seconds one attempt of a request may take in all, connecting and the whole reply included; a timeout is
        retried (see the notes). What the deadline covers is in the collection's troubleshooting guide.
    type: float
    default: 30
  quota_reserve:
    description:
      - Requests of the tenant's hourly quota to leave to its live integrations (CRM, call center).
      - The run stops with an error, saying when the quota resets, rather than take C(X-RateLimit-Remaining) below
        this reserve. V(0) uses the whole quota; an exhausted quota (HTTP 429) fails at once, without retries. See
        the collection's guide to quota and costs.
    type: int
    default: 0
  allow_plain_http:
    description:
      - Allow an O(api_url) or O(token_url) with plain C(http://) on a host other than this machine, for a test
        server. The app secret and the Bearer tokens then cross the network unencrypted, and a warning says so.
      - Without it such URLs are refused before any request; C(http://) on a loopback address (V(127.0.0.1),
        V(::1), V(localhost)) is always accepted.
      - If not set, the value of the E(TELPHIN_ALLOW_PLAIN_HTTP) environment variable is used.
    type: bool
    default: false
  http_agent:
    description:
      - Value of the C(User-Agent) header of every request.
      - Defaults to C(telphin.pbx/) followed by the collection's version, so that the provider can tell this
        collection's requests from those of other clients.
    type: str
notes:
  - One OAuth token per set of credentials per run (a task run, or an inventory refresh), never one per request.
    A token refused with 401 after it served requests is renewed and the refused requests repeated. The token
    endpoint refusing O(app_id)/O(app_secret) stops the run at once.
  - Connection errors, timeouts, HTTP 502/503/504, an HTTP 500 on a GET or a token request and the API's
    "concurrent request" 429 are retried (5 attempts within 60 seconds, honouring C(Retry-After)); each retry
    counts in C(requests.retried) of the results. The collection's troubleshooting guide has the details.
  - Error messages say what failed in the collection's words (method, API path without the query, HTTP status,
    the API's or OAuth's error code when it is one of the documented ones, and what to do). They never quote the
    server's reply (its C(message), C(error_description) or body), which may repeat what was sent.
  - After an HTTP 500 on a PUT, the phone is read to decide; applied, the change is reported; not applied, the
    PUT (absolute values) is repeated once and decided the same way.
requirements:
  - urllib3 >= 1.26 (also installed with C(requests))
'''

    ATTRIBUTES = r'''
attributes:
  action_group:
    description: Use C(group/telphin.pbx.pbx) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - telphin.pbx.pbx
notes:
  - Every result, also of a failed task, returns RV(requests) (requests sent, by kind) and RV(quota) (the tenant's
    C(X-RateLimit-*) figures after the run), except when the task is refused before the API client is set up (an
    option refused by the argument spec or as a connection option, or urllib3 missing).
  - "Where the module code runs, and so which Python needs the packages of the requirements: on a local connection
    (C(connection: local), the implicit C(localhost), C(delegate_to: localhost)) the action plugin runs it in the
    Ansible controller's worker process, with the Python that runs C(ansible-playbook); on any other connection the
    module runs in the target host's Python."
requirements:
  - python >= 3.8
'''

    # Merged over DOCUMENTATION option by option: only the ``env:`` entries are added.
    PLUGIN_OPTIONS = r'''
options:
  api_url:
    env:
      - name: TELPHIN_API_URL
  token_url:
    env:
      - name: TELPHIN_TOKEN_URL
  app_id:
    env:
      - name: TELPHIN_APP_ID
  app_secret:
    env:
      - name: TELPHIN_APP_SECRET
  access_token:
    env:
      - name: TELPHIN_ACCESS_TOKEN
  validate_certs:
    env:
      - name: TELPHIN_VALIDATE_CERTS
  ca_path:
    env:
      - name: TELPHIN_CA_PATH
  allow_plain_http:
    env:
      - name: TELPHIN_ALLOW_PLAIN_HTTP
'''
