// A mutation the server quarantined, in words for the inspector: which record, why (Chinese first) and what
// to do. The push reply carries only the stable problem code and an English message; the advice per code lives here.

const RECORD_NAMES = {
  inspection: ["检查记录", "inspection"],
  item_result: ["检查项答案", "checklist answer"],
  hazard: ["隐患", "hazard"],
  hazard_event: ["隐患处理记录", "hazard follow-up"],
  photo: ["照片", "photo"],
};

// code -> [reason zh, reason en, what to do zh, what to do en]
const ADVICE = {
  "422.42": ["本机应用版本与服务器不一致，服务器不认识这类记录。", "This app version and the server disagree: the server does not know this kind of record.",
    "请更新应用（联网后按提示更新），并把本条告知管理员，由其在服务器“隔离区”重新应用。", "Update the app (online, when offered) and tell an administrator, who can re-apply it from the server's quarantine."],
  "422.43": ["记录中有本机不允许填写的字段。", "The record has fields a device may not write.",
    "请告知管理员；记录已完整保存在服务器隔离区，不会丢失。", "Tell an administrator; the record is kept whole in the server's quarantine."],
  "422.44": ["记录内容未通过服务器校验。", "The server's checks refused the record's content.",
    "请告知管理员，由其在服务器“隔离区”核对修正后重新应用；不要重复录入。", "Tell an administrator, who can correct and re-apply it from the server's quarantine; do not enter it again."],
  "422.45": ["该记录属于其他用户或设备。", "The record belongs to another user or device.",
    "请确认是否用了他人的设备或账号登录；需要时请管理员处理。", "Check whether you signed in on someone else's device or account; ask an administrator if needed."],
  "422.46": ["该检查已提交封存，之后的修改未被采用。", "The inspection is sealed (submitted): this later change was not applied.",
    "如需更正，请在网页上对该检查新建更正记录，或请审核人退回后再修改。", "To correct it, add a correction on the web, or ask the reviewer to return the inspection first."],
  "422.47": ["记录引用的企业、检查或隐患在服务器上不存在或无权访问。", "A record it refers to does not exist on the server or is not visible to you.",
    "请联网同步后检查该企业是否仍在本辖区；仍有问题请告知管理员。", "Sync online and check the enterprise is still in your region; otherwise tell an administrator."],
  "422.48": ["同一序号的记录被服务器收到过两次且内容不同。", "The server received this sequence number twice with different content.",
    "请告知管理员核对（本机数据可能被恢复或复制过）。", "Tell an administrator (this device's data may have been restored or copied)."],
  "403.1": ["当前账号无权执行此操作。", "Your account may not do this.",
    "请确认登录的账号和角色；需要时请管理员调整权限。", "Check the account and role you signed in with; ask an administrator to change permissions if needed."],
};
const FALLBACK = ["服务器拒收了这条记录。", "The server refused this record.",
  "请告知管理员，由其在服务器“隔离区”处理；记录已完整保存在服务器，不会丢失。", "Tell an administrator, who can handle it from the server's quarantine; the record is kept whole there."];

/**
 * The notice kept for one quarantined push result (meta "quarantined"): which record, why and what to do.
 * @param {{seq: number, code: string | null, message: string | null}} result
 * @param {{entity: string, id: string, op: string, data?: {status?: string} | null} | undefined} mutation the outbox entry it answers
 * @param {Date} at
 */
export function quarantineNotice(result, mutation, at) {
  const [zh, en, todoZh, todoEn] = ADVICE[result.code] ?? FALLBACK;
  const entity = mutation?.entity ?? "?";
  const [nameZh, nameEn] = RECORD_NAMES[entity] ?? [entity, entity];
  const submit = entity === "inspection" && mutation?.data?.status === "submitted";
  return {
    seq: result.seq,
    entity,
    id: mutation?.id ?? null,
    code: result.code ?? "quarantined",
    record: { "zh-CN": submit ? "检查提交" : nameZh, en: submit ? "inspection submission" : nameEn },
    messages: { "zh-CN": zh, en },
    todo: { "zh-CN": todoZh, en: todoEn },
    detail: result.message ?? null,
    at: at.toISOString(),
  };
}
