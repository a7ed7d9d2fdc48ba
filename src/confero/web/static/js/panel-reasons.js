// Why a notice was not sent, in the page's language (F-RS8). The server stores
// `last_error` as "code" or "code: detail" (confero.domain.notices): the code becomes the
// page's text, the server's own words follow in brackets; anything else (older rows)
// shows as the server said it.

import { t } from './i18n.js';
import { hasText } from './panel-common.js';

const REASON = /^([a-z][a-z_]*\.[a-z][a-z_]*)(?::\s*([\s\S]*))?$/;

export function reasonText(lastError) {
  if (!lastError) return t('panel_reason_unknown');
  const match = REASON.exec(lastError);
  const key = match ? `panel_reason_${match[1].replace('.', '_')}` : '';
  if (!match || !hasText(key)) return lastError;
  return match[2] ? t('panel_reason_with_detail', { reason: t(key), detail: match[2] }) : t(key);
}
