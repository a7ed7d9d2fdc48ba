// Settings of the signed-in account (F-RS8): display name and time zone
// (PATCH /api/v1/me), and a new password (POST /api/v1/me/password).

import { $, el } from './dom.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { config, fieldErrors, say } from './panel-common.js';

const profile = $('#profile-form');
const profileErrors = fieldErrors(profile);
const password = $('#own-password-form');
const passwordErrors = fieldErrors(password);
const vars = { min: config.min_password };

/** Every zone the browser knows, the current one kept even if it does not. */
function fillZones() {
  const select = profile.time_zone;
  const current = select.value;
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }
  const all = [...new Set(['UTC', current, ...zones])].sort((a, b) => a.localeCompare(b));
  select.replaceChildren(...all.map((z) => el('option', { value: z, selected: z === current }, z)));
}

profile.addEventListener('submit', async (event) => {
  event.preventDefault();
  profileErrors.clear();
  try {
    const me = await api('PATCH', '/api/v1/me', {
      display_name: profile.display_name.value.trim(),
      time_zone: profile.time_zone.value,
    });
    $('#account-name').textContent = me.display_name || me.email;
    config.account.time_zone = me.time_zone;
    say(t('panel_saved'));
  } catch (error) {
    profileErrors.refuse(error, { 'account.invalid_time_zone': 'time_zone' }, vars);
  }
});

password.addEventListener('submit', async (event) => {
  event.preventDefault();
  passwordErrors.clear();
  const current = password.current_password.value;
  const fresh = password.new_password.value;
  if (!current) return passwordErrors.set('current_password', t('panel_err_required'));
  if (fresh.length < config.min_password) {
    return passwordErrors.set('new_password', t('panel_err_account_weak_password', vars));
  }
  if (fresh !== password.repeat_password.value) {
    return passwordErrors.set('repeat_password', t('panel_err_password_mismatch'));
  }
  try {
    await api('POST', '/api/v1/me/password', { current_password: current, new_password: fresh });
    password.reset();
    say(t('panel_settings_password_changed'));
  } catch (error) {
    passwordErrors.refuse(
      error,
      {
        'auth.invalid_credentials': 'current_password',
        'account.wrong_password': 'current_password',
        'account.weak_password': 'new_password',
      },
      vars,
    );
  }
  return undefined;
});

fillZones();
