// Messages the inspector sees: Chinese first, English on request (the choice is remembered per device).
const MESSAGES = {
  zh: {
    appTitle: "冶金工贸安全检查",
    signIn: "登录",
    username: "用户名",
    password: "密码",
    signingIn: "正在登录并准备离线数据……",
    firstUseHint: "首次使用需联网登录一次，之后可离线工作。",
    enterprises: "辖区企业",
    search: "搜索企业名称、统一社会信用代码或乡镇",
    sectors: "涉及行业",
    noEnterprises: "没有匹配的企业",
    syncPanel: "同步",
    syncNow: "立即同步",
    syncing: "正在同步……",
    unsentChanges: "未发送的记录",
    unsentPhotos: "未发送的照片",
    lastSync: "上次成功同步",
    never: "从未",
    storage: "存储空间",
    persisted: "已申请持久存储",
    notPersisted: "未获得持久存储",
    lastError: "最近的问题",
    offline: "离线",
    online: "在线",
    updateReady: "应用有新版本。保存好正在填写的内容后更新？",
    updateNow: "现在更新",
    later: "稍后",
    language: "English",
    signOut: "退出此设备",
  },
  en: {
    appTitle: "Safety inspection",
    signIn: "Sign in",
    username: "User name",
    password: "Password",
    signingIn: "Signing in and preparing offline data…",
    firstUseHint: "Sign in online once; after that the app works offline.",
    enterprises: "Enterprises",
    search: "Search by name, credit code or town",
    sectors: "Sectors",
    noEnterprises: "No matching enterprise",
    syncPanel: "Sync",
    syncNow: "Sync now",
    syncing: "Syncing…",
    unsentChanges: "Unsent records",
    unsentPhotos: "Unsent photos",
    lastSync: "Last successful sync",
    never: "never",
    storage: "Storage",
    persisted: "persistent storage granted",
    notPersisted: "storage not persistent",
    lastError: "Last problem",
    offline: "Offline",
    online: "Online",
    updateReady: "A new version is ready. Update once your input is saved?",
    updateNow: "Update now",
    later: "Later",
    language: "中文",
    signOut: "Sign this device out",
  },
};

const SECTORS = {
  steel: ["钢铁", "Steel"],
  aluminium_casting: ["铝加工（深井铸造）", "Aluminium casting"],
  dust_explosion: ["粉尘涉爆", "Combustible dust"],
  ammonia_refrigeration: ["涉氨制冷", "Ammonia refrigeration"],
  confined_space: ["有限空间", "Confined space"],
  hazardous_work: ["危险作业", "Hazardous work"],
  major_hazard_source: ["重大危险源", "Major hazard source"],
  gas_area: ["煤气区域", "Gas area"],
};

/** The message `key` in `lang` ("zh" or "en"), falling back to Chinese. */
export function t(lang, key) {
  return (MESSAGES[lang] && MESSAGES[lang][key]) || MESSAGES.zh[key] || key;
}

/** A sector flag's label in `lang`. */
export function sectorLabel(lang, sector) {
  const labels = SECTORS[sector];
  return labels ? labels[lang === "en" ? 1 : 0] : sector;
}

/** The message of a problem body or error in `lang`, Chinese first. */
export function problemText(lang, problem) {
  if (!problem) return "";
  const messages = problem.messages || {};
  return (lang === "en" ? messages.en : messages["zh-CN"]) || problem.message || String(problem);
}
