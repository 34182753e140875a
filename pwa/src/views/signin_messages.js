// Messages of the QR sign-in panel (badge scans, self sign-in code), Chinese first.
import { currentLanguage } from '../i18n.js';

const MESSAGES = {
  zh: {
    'qr.title': '扫码签到',
    'qr.scan': '扫描学员码',
    'qr.self': '学员自助签到码',
    'qr.close': '关闭',
    'qr.scanning': '请将学员码对准取景框',
    'qr.ready': '摄像头已就绪',
    'qr.no_camera': '无法打开摄像头：请在浏览器设置中允许使用摄像头，或改用手动点名',
    'qr.ok': '{name} 签到成功',
    'qr.duplicate': '{name} 已签到，重复扫码已记录',
    'qr.not_on_roster': '学员码有效，但该学员不在本班名册中，已记录',
    'qr.other_class': '不是本班次的学员码，已记录为异常',
    'qr.signature': '学员码无效（伪造或损坏），已记录为异常',
    'qr.garbled': '无法识别的二维码',
    'qr.no_key': '尚未同步验码公钥，联网同步后再扫；本次扫码已保存，由服务器核验',
    'qr.self_code': '请学员用自己的手机扫描此码签到',
    'qr.self_refresh': '{s} 秒后更新',
    'qr.self_no_key': '本机没有签到密钥，请退出后重新登录',
    'qr.rapid': '扫码过快（连续 {n} 次间隔不足 1 秒），已标记',
    'qr.count': '扫码 {n} 次，异常 {bad} 次',
    'qr.sign_prompt': '请学员本人签名',
    'qr.sign_skip': '跳过',
    'qr.sign_clear': '重写',
    'qr.sign_confirm': '确认',
    'qr.sign_saved': '{name} 已签名',
  },
  en: {
    'qr.title': 'QR sign-in',
    'qr.scan': 'Scan badges',
    'qr.self': 'Self sign-in code',
    'qr.close': 'Close',
    'qr.scanning': 'Hold a badge in the frame',
    'qr.ready': 'Camera ready',
    'qr.no_camera': 'Cannot open the camera: allow the camera in the browser settings, or mark attendance by hand',
    'qr.ok': '{name} signed in',
    'qr.duplicate': '{name} already signed in; the repeat scan is recorded',
    'qr.not_on_roster': 'Genuine badge, but the trainee is not on this roster; recorded',
    'qr.other_class': 'A badge of another class; recorded as an anomaly',
    'qr.signature': 'Badge invalid (forged or damaged); recorded as an anomaly',
    'qr.garbled': 'Not a badge',
    'qr.no_key': 'No badge key synced yet; the scan is kept and the server will check it',
    'qr.self_code': 'Trainees scan this with their own phones',
    'qr.self_refresh': 'changes in {s} s',
    'qr.self_no_key': 'No sign-in key on this phone: log out and in again',
    'qr.rapid': 'Scans too fast ({n} in a row under 1 s apart); flagged',
    'qr.count': '{n} scans, {bad} anomalies',
    'qr.sign_prompt': 'Trainee, please sign in person',
    'qr.sign_skip': 'Skip',
    'qr.sign_clear': 'Clear',
    'qr.sign_confirm': 'Confirm',
    'qr.sign_saved': '{name} signed',
  },
};

/** Return a panel message in the current language. */
export function tq(key, values = {}) {
  const text = MESSAGES[currentLanguage()]?.[key] ?? MESSAGES.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (values[name] ?? `{${name}}`));
}
