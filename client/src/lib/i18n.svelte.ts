// Every string the UI shows, in Simplified Chinese (default) and English. `en` is typed against
// `zh`, so a key missing from either language is a type error.

export type Lang = 'zh-CN' | 'en';
const STORAGE_KEY = 'hr.lang';

const zh = {
  'app.title': '听证音像记录系统',
  'app.loading': '正在加载…',
  'app.demoBanner': '演示模式：模拟摄像机与演示账户，此处录制的内容不作为证据',
  'app.skipToContent': '跳到主要内容',

  'nav.console': '记录台',
  'nav.wall': '监看墙',
  'nav.replay': '回放',
  'nav.admin': '管理',
  'nav.main': '主导航',

  'header.switchTo': 'English',
  'header.switchToLabel': 'Switch language to English',
  'header.logout': '退出',
  'header.online': '在线',
  'header.offline': '离线',
  'header.connection': '实时连接',

  'role.admin': '系统管理员',
  'role.security': '安全保密管理员',
  'role.auditor': '安全审计员',
  'role.clerk': '书记员',
  'role.supervisor': '监督人员',
  'role.legal': '法制人员',

  'login.title': '登录',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.submitting': '正在登录…',
  'login.invalid': '用户名或密码错误。',
  'login.tooMany': '尝试次数过多，请稍后再试。',
  'login.required': '请输入用户名和密码。',
  'login.demoHint': '演示账户：clerk / clerk-demo（其他角色同理）',

  'pw.title': '修改密码',
  'pw.forced': '您正在使用系统生成的初始密码。继续使用前请设置新密码。',
  'pw.current': '当前密码',
  'pw.new': '新密码',
  'pw.confirm': '确认新密码',
  'pw.submit': '修改密码',
  'pw.mismatch': '两次输入的新密码不一致。',
  'pw.done': '密码已修改。',

  'common.error': '出错了',
  'common.retry': '重试',
  'common.loading': '正在加载…',
  'common.save': '保存',
  'common.cancel': '取消',
  'common.close': '关闭',
  'common.edit': '编辑',
  'common.yes': '是',
  'common.no': '否',
  'common.none': '无',
  'common.networkError': '无法连接服务器，请检查网络后重试。',
  'common.noPermission': '无权访问',
  'common.noPermissionDetail': '您的角色（{roles}）不能使用此页面。',
  'common.goHome': '返回我的首页',
  'common.noHome': '您的账户没有可用的页面，请联系安全保密管理员分配角色。',
  'common.notFound': '页面不存在',

  'camera.state.unknown': '未知',
  'camera.state.probing': '检测中',
  'camera.state.online': '在线',
  'camera.state.unauthorized': '认证失败',
  'camera.state.unreachable': '无法连接',
  'camera.state.unsupported': '不支持',
  'room.kind.hearing': '听证室',
  'room.kind.interview': '询问室',
  'room.cameras': '{n} 路摄像机',
  'room.noCameras': '未配置摄像机',
  'room.none': '没有可用的房间。',

  'console.title': '记录台',
  'console.rooms': '房间',
  'console.pickRoom': '请选择房间',
  'console.selected': '当前房间',
  'console.notRecording': '未录制',
  'console.sessionComing': '开庭、阶段标记与录制控制将在后续版本中提供。',

  'wall.title': '监看墙',
  'wall.placeholder': '实时画面即将提供',
  'wall.noRooms': '没有可监看的房间。',

  'replay.title': '回放',
  'replay.searchComing': '案件检索与回放即将提供。下方为《执法全过程音像记录清单》（2024）供参考。',
  'replay.checklist': '音像记录清单',
  'replay.procedure': '程序',
  'replay.allItems': '全部事项',
  'replay.col.item': '序号',
  'replay.col.project': '执法项目',
  'replay.col.matter': '记录事项',
  'replay.col.place': '记录场合',
  'replay.col.method': '执法记录方式',
  'replay.field.category': '类别',
  'replay.field.timeLimit': '时限',
  'replay.field.department': '责任部门',
  'replay.field.recorder': '记录人',
  'replay.field.startWhen': '开始记录',
  'replay.field.process': '记录过程',
  'replay.field.endWhen': '结束记录',
  'replay.field.remarks': '备注',
  'replay.expand': '展开第 {n} 项',
  'replay.collapse': '收起第 {n} 项',
  'replay.rows': '共 {n} 项',

  'admin.title': '管理',
  'admin.rooms': '房间与摄像机',
  'admin.roomsReadOnly': '只读列表；配置编辑将在后续版本中提供。',
  'admin.col.room': '房间',
  'admin.col.kind': '类型',
  'admin.col.camera': '摄像机',
  'admin.col.position': '机位',
  'admin.col.state': '状态',
  'admin.col.id': '标识',

  'users.title': '用户与角色',
  'users.create': '新建用户',
  'users.username': '用户名',
  'users.displayName': '姓名',
  'users.roles': '角色',
  'users.rooms': '房间',
  'users.disabled': '已停用',
  'users.status': '状态',
  'users.active': '正常',
  'users.mustChange': '待改密',
  'users.createdAt': '创建时间',
  'users.actions': '操作',
  'users.resetPassword': '重置密码',
  'users.resetConfirm': '确定为 {user} 重置密码？原密码将立即失效。',
  'users.initialPassword': '{user} 的初始密码',
  'users.initialPasswordHint': '此密码只显示这一次。请复制后当面或通过安全渠道交给本人；首次登录时须修改。',
  'users.copy': '复制',
  'users.copied': '已复制',
  'users.copyManual': '已选中，请按 Ctrl+C 复制',
  'users.protected': '管理员账户不可修改',
  'users.editTitle': '编辑 {user}',
  'users.saved': '已保存。',
  'users.roomsFree': '房间标识（逗号分隔）',
  'users.empty': '没有用户。',
  'users.rolesRequired': '请至少选择一个角色。',

  'audit.title': '审计日志',
  'audit.newer': '较新',
  'audit.older': '较早',
  'audit.verify': '校验哈希链',
  'audit.verifying': '正在校验…',
  'audit.ok': '哈希链完整：已校验 {n} 条记录。',
  'audit.bad': '哈希链断裂：第 {id} 条记录校验失败（已校验 {n} 条）。原因：{reason}',
  'audit.col.id': '编号',
  'audit.col.at': '时间（北京）',
  'audit.col.actor': '操作人',
  'audit.col.action': '操作',
  'audit.col.target': '对象',
  'audit.col.detail': '详情',
  'audit.col.ip': 'IP',
  'audit.col.hash': '哈希',
  'audit.empty': '没有审计记录。',
  'audit.page': '第 {n} 页',
} as const satisfies Record<string, string>;

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  'app.title': 'Hearing Recorder',
  'app.loading': 'Loading…',
  'app.demoBanner': 'Demo mode: simulated cameras and demo accounts; nothing recorded here is evidence',
  'app.skipToContent': 'Skip to main content',

  'nav.console': 'Console',
  'nav.wall': 'Wall',
  'nav.replay': 'Replay',
  'nav.admin': 'Admin',
  'nav.main': 'Main navigation',

  'header.switchTo': '中文',
  'header.switchToLabel': '切换到中文',
  'header.logout': 'Log out',
  'header.online': 'online',
  'header.offline': 'offline',
  'header.connection': 'Live connection',

  'role.admin': 'System admin',
  'role.security': 'Security admin',
  'role.auditor': 'Auditor',
  'role.clerk': 'Clerk',
  'role.supervisor': 'Supervisor',
  'role.legal': 'Legal',

  'login.title': 'Sign in',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.submitting': 'Signing in…',
  'login.invalid': 'Wrong username or password.',
  'login.tooMany': 'Too many attempts. Please wait and try again.',
  'login.required': 'Enter your username and password.',
  'login.demoHint': 'Demo accounts: clerk / clerk-demo (same pattern for other roles)',

  'pw.title': 'Change password',
  'pw.forced': 'You are using a generated initial password. Set a new password to continue.',
  'pw.current': 'Current password',
  'pw.new': 'New password',
  'pw.confirm': 'Confirm new password',
  'pw.submit': 'Change password',
  'pw.mismatch': 'The new passwords do not match.',
  'pw.done': 'Password changed.',

  'common.error': 'Something went wrong',
  'common.retry': 'Retry',
  'common.loading': 'Loading…',
  'common.save': 'Save',
  'common.cancel': 'Cancel',
  'common.close': 'Close',
  'common.edit': 'Edit',
  'common.yes': 'Yes',
  'common.no': 'No',
  'common.none': 'None',
  'common.networkError': 'Cannot reach the server. Check the network and try again.',
  'common.noPermission': 'No permission',
  'common.noPermissionDetail': 'Your roles ({roles}) cannot use this page.',
  'common.goHome': 'Go to my home page',
  'common.noHome': 'Your account has no page to use. Ask the security admin to assign a role.',
  'common.notFound': 'Page not found',

  'camera.state.unknown': 'Unknown',
  'camera.state.probing': 'Probing',
  'camera.state.online': 'Online',
  'camera.state.unauthorized': 'Auth failed',
  'camera.state.unreachable': 'Unreachable',
  'camera.state.unsupported': 'Unsupported',
  'room.kind.hearing': 'Hearing room',
  'room.kind.interview': 'Interview room',
  'room.cameras': '{n} cameras',
  'room.noCameras': 'No cameras configured',
  'room.none': 'No rooms available.',

  'console.title': 'Console',
  'console.rooms': 'Rooms',
  'console.pickRoom': 'Pick a room',
  'console.selected': 'Current room',
  'console.notRecording': 'Not recording',
  'console.sessionComing': 'Sessions, stage marks and recording controls come in a later version.',

  'wall.title': 'Wall',
  'wall.placeholder': 'Live view coming',
  'wall.noRooms': 'No rooms to watch.',

  'replay.title': 'Replay',
  'replay.searchComing': 'Case search and replay are coming. Below, the 2024 recording checklist for reference.',
  'replay.checklist': 'Recording checklist',
  'replay.procedure': 'Procedure',
  'replay.allItems': 'All items',
  'replay.col.item': 'No.',
  'replay.col.project': 'Enforcement project',
  'replay.col.matter': 'What to record',
  'replay.col.place': 'Where',
  'replay.col.method': 'Recording method',
  'replay.field.category': 'Category',
  'replay.field.timeLimit': 'Time limit',
  'replay.field.department': 'Department',
  'replay.field.recorder': 'Recorded by',
  'replay.field.startWhen': 'Start recording',
  'replay.field.process': 'Process',
  'replay.field.endWhen': 'Stop recording',
  'replay.field.remarks': 'Remarks',
  'replay.expand': 'Expand item {n}',
  'replay.collapse': 'Collapse item {n}',
  'replay.rows': '{n} items',

  'admin.title': 'Admin',
  'admin.rooms': 'Rooms and cameras',
  'admin.roomsReadOnly': 'Read-only list; editing comes in a later version.',
  'admin.col.room': 'Room',
  'admin.col.kind': 'Kind',
  'admin.col.camera': 'Camera',
  'admin.col.position': 'Position',
  'admin.col.state': 'State',
  'admin.col.id': 'Id',

  'users.title': 'Users and roles',
  'users.create': 'Create user',
  'users.username': 'Username',
  'users.displayName': 'Name',
  'users.roles': 'Roles',
  'users.rooms': 'Rooms',
  'users.disabled': 'Disabled',
  'users.status': 'Status',
  'users.active': 'Active',
  'users.mustChange': 'Must change password',
  'users.createdAt': 'Created',
  'users.actions': 'Actions',
  'users.resetPassword': 'Reset password',
  'users.resetConfirm': 'Reset the password of {user}? The old password stops working at once.',
  'users.initialPassword': 'Initial password of {user}',
  'users.initialPasswordHint': 'Shown only this once. Copy it and hand it over in person or through a secure channel; it must be changed at first login.',
  'users.copy': 'Copy',
  'users.copied': 'Copied',
  'users.copyManual': 'Selected: press Ctrl+C to copy',
  'users.protected': 'Administrator accounts cannot be changed',
  'users.editTitle': 'Edit {user}',
  'users.saved': 'Saved.',
  'users.roomsFree': 'Room ids (comma separated)',
  'users.empty': 'No users.',
  'users.rolesRequired': 'Choose at least one role.',

  'audit.title': 'Audit log',
  'audit.newer': 'Newer',
  'audit.older': 'Older',
  'audit.verify': 'Verify hash chain',
  'audit.verifying': 'Verifying…',
  'audit.ok': 'Hash chain intact: {n} entries checked.',
  'audit.bad': 'Hash chain broken at entry {id} ({n} checked). Reason: {reason}',
  'audit.col.id': 'Id',
  'audit.col.at': 'Time (Beijing)',
  'audit.col.actor': 'Actor',
  'audit.col.action': 'Action',
  'audit.col.target': 'Target',
  'audit.col.detail': 'Detail',
  'audit.col.ip': 'IP',
  'audit.col.hash': 'Hash',
  'audit.empty': 'No audit entries.',
  'audit.page': 'Page {n}',
};

export const dictionaries: Record<Lang, Record<MessageKey, string>> = { 'zh-CN': zh, en };

function storedLang(): Lang {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === 'en' ? 'en' : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
}

/** Replace `{name}` placeholders with values. */
export function interpolate(text: string, params?: Record<string, string | number>): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

class I18n {
  lang = $state<Lang>(storedLang());

  t = (key: MessageKey, params?: Record<string, string | number>): string =>
    interpolate(dictionaries[this.lang][key], params);

  /** Translate a dynamic key (role names, camera states) and fall back to the raw value. */
  tx = (prefix: string, value: string): string => {
    const key = `${prefix}.${value}`;
    const dict = dictionaries[this.lang] as Record<string, string>;
    return dict[key] ?? value;
  };

  set(lang: Lang): void {
    this.lang = lang;
    document.documentElement.lang = lang;
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch {
      // private mode: the choice lasts for this page only
    }
  }

  toggle(): void {
    this.set(this.lang === 'zh-CN' ? 'en' : 'zh-CN');
  }
}

export const i18n = new I18n();
export const t = i18n.t;
