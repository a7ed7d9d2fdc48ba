// Accounts for administrators (F-RS8): the list with each one's SMS use, create an
// account, reset a password, disable or enable, set the SMS allowance.

import { $, el } from './dom.js';
import { confirmDialog } from './dialogs.js';
import { t } from './i18n.js';
import { api } from './panel-api.js';
import { EMAIL, config, fieldErrors, problemText, say, showError } from './panel-common.js';

const CODE_FIELDS = {
  'account.email_taken': 'email',
  'account.invalid_email': 'email',
  'account.weak_password': 'password',
  'account.invalid_sms_allowance': 'sms_allowance',
};
const vars = { min: config.min_password };

const createDialog = $('#account-dialog');
const createForm = $('#account-form');
const createErrors = fieldErrors(createForm);
const passwordDialog = $('#password-dialog');
const passwordForm = $('#password-form');
const passwordErrors = fieldErrors(passwordForm);
const allowanceDialog = $('#allowance-dialog');
const allowanceForm = $('#allowance-form');
const allowanceErrors = fieldErrors(allowanceForm);
let target = null;

function path(account) {
  return `/api/v1/accounts/${encodeURIComponent(account.id)}`;
}

function smsLine(a) {
  if (typeof a.sms_allowance !== 'number') return '';
  return t('panel_account_sms_used', { used: a.sms_used ?? 0, allowance: a.sms_allowance });
}

function item(a) {
  const self = a.id === config.account.id;
  const title = el('h2', { class: 'account-title' }, a.display_name || a.email);
  if (a.is_admin) title.append(el('span', { class: 'tag' }, t('panel_account_admin')));
  if (a.disabled) title.append(el('span', { class: 'tag warn' }, t('panel_account_disabled')));
  if (self) title.append(el('span', { class: 'tag' }, t('panel_account_you')));
  const actions = el(
    'p',
    { class: 'actions' },
    el('button', { type: 'button', class: 'button reset', onclick: () => openPassword(a) },
      t('panel_account_reset')),
    el('button', { type: 'button', class: 'button allowance', onclick: () => openAllowance(a) },
      t('panel_account_set_allowance')),
  );
  if (!self) {
    actions.append(
      el(
        'button',
        { type: 'button', class: `button toggle${a.disabled ? '' : ' danger'}`, onclick: () => toggle(a) },
        a.disabled ? t('panel_account_enable') : t('panel_account_disable'),
      ),
    );
  }
  return el(
    'li',
    { class: 'panel-card account-card', dataset: { accountId: a.id, email: a.email } },
    title,
    el('p', { class: 'hint' }, a.email),
    el('p', { class: 'sms-use' }, smsLine(a)),
    actions,
  );
}

async function load() {
  try {
    const accounts = await api('GET', '/api/v1/accounts');
    $('#accounts-loading').hidden = true;
    $('#accounts').replaceChildren(...accounts.map(item));
    showError('');
  } catch (error) {
    showError(problemText(error));
  }
}

function allowanceValue(input, errors) {
  const raw = input.value.trim();
  const value = Number(raw);
  if (!raw || !Number.isInteger(value) || value < 0) {
    errors.set(input.name, t('panel_err_account_invalid_sms_allowance'));
    return null;
  }
  return value;
}

$('#account-new').addEventListener('click', () => {
  createForm.reset();
  createErrors.clear();
  createDialog.showModal();
  createForm.email.focus();
});

createForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  createErrors.clear();
  const email = createForm.email.value.trim();
  if (!EMAIL.test(email)) return createErrors.set('email', t('panel_err_account_invalid_email'));
  if (createForm.password.value.length < config.min_password) {
    return createErrors.set('password', t('panel_err_account_weak_password', vars));
  }
  const allowance = allowanceValue(createForm.sms_allowance, createErrors);
  if (allowance === null) return undefined;
  try {
    await api('POST', '/api/v1/accounts', {
      email,
      password: createForm.password.value,
      display_name: createForm.display_name.value.trim(),
      is_admin: createForm.is_admin.checked,
      sms_allowance: allowance,
    });
    createDialog.close();
    say(t('panel_account_created', { email }));
    await load();
  } catch (error) {
    createErrors.refuse(error, CODE_FIELDS, vars);
  }
  return undefined;
});

function openPassword(a) {
  target = a;
  passwordForm.reset();
  passwordErrors.clear();
  $('#password-dialog-title').textContent = t('panel_account_reset_title', { email: a.email });
  passwordDialog.showModal();
  passwordForm.password.focus();
}

passwordForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  passwordErrors.clear();
  if (passwordForm.password.value.length < config.min_password) {
    return passwordErrors.set('password', t('panel_err_account_weak_password', vars));
  }
  try {
    await api('POST', `${path(target)}/password`, { password: passwordForm.password.value });
    passwordDialog.close();
    say(t('panel_account_reset_done', { email: target.email }));
  } catch (error) {
    passwordErrors.refuse(error, CODE_FIELDS, vars);
  }
  return undefined;
});

function openAllowance(a) {
  target = a;
  allowanceForm.reset();
  allowanceErrors.clear();
  $('#allowance-dialog-title').textContent = t('panel_account_allowance_title', { email: a.email });
  $('#allowance-used').textContent = smsLine(a);
  allowanceForm.sms_allowance.value = String(a.sms_allowance ?? 0);
  allowanceDialog.showModal();
  allowanceForm.sms_allowance.focus();
}

allowanceForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  allowanceErrors.clear();
  const value = allowanceValue(allowanceForm.sms_allowance, allowanceErrors);
  if (value === null) return undefined;
  try {
    await api('PATCH', path(target), { sms_allowance: value });
    allowanceDialog.close();
    say(t('panel_saved'));
    await load();
  } catch (error) {
    allowanceErrors.refuse(error, CODE_FIELDS, vars);
  }
  return undefined;
});

async function toggle(a) {
  if (!a.disabled) {
    const ok = await confirmDialog(t('panel_account_disable_confirm', { email: a.email }), t('panel_account_disable'));
    if (!ok) return;
  }
  try {
    await api('PATCH', path(a), { disabled: !a.disabled });
    say(t('panel_saved'));
    await load();
  } catch (error) {
    showError(problemText(error));
  }
}

load();
