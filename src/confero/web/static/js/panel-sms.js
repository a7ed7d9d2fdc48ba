// The SMS outbox for administrators (F-RS6, F-RS8): with no SMS gateway configured the
// server keeps every SMS instead of sending it; this lists them, newest first, with the
// time in the account's zone. Refreshed while visible, as the notice worker adds more.

import { $, el } from './dom.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { config, keepFresh, problemText, showError, zone } from './panel-common.js';
import { formatInstant } from './panel-time.js';

const REFRESH_MS = 30000;

function item(sms) {
  const when = Date.parse(sms.created_at);
  return el(
    'li',
    { class: 'panel-card sms-card', dataset: { smsId: sms.id, to: sms.to } },
    el('h2', { class: 'sms-to' }, `${t('panel_sms_to')}: ${sms.to}`),
    el(
      'p',
      { class: 'hint sms-meta' },
      `${t('panel_sms_from')}: ${sms.sender} · `,
      el('time', { datetime: sms.created_at }, formatInstant(when, zone, config.lang)),
    ),
    el('p', { class: 'sms-text' }, sms.text),
  );
}

async function load() {
  try {
    const messages = await api('GET', '/api/v1/sms/outbox');
    messages.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
    $('#sms-loading').hidden = true;
    $('#sms-empty').hidden = !config.sms_outbox || messages.length > 0;
    const old = $('#sms-old');
    if (old) old.hidden = messages.length === 0;
    $('#sms-list').replaceChildren(...messages.map(item));
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

keepFresh(load, REFRESH_MS);
