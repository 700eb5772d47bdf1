// 抽查任务: the city's 双随机 assignments this inspector pulled, one entry per enterprise (a later draw of the
// same enterprise replaces an earlier one), with whether this tablet already holds a city-sampling
// inspection of it made since the draw, and whether the enterprise's card is on this tablet.

/**
 * Group pulled "assignment" rows into tasks: not yet inspected first, then the newest draw, then by name.
 * Each task: { enterpriseId, name, address, regionName, drawId, drawnAt, coInspectors, done, inReplica }.
 */
export function assignmentTasks({ assignments = [], enterprises = [], inspections = [] }) {
  const byEnterprise = new Map();
  for (const row of assignments) {
    if (!row || row.deleted || !row.data) continue;
    const seen = byEnterprise.get(row.data.enterprise_id);
    if (!seen || String(row.data.drawn_at) > String(seen.data.drawn_at)) byEnterprise.set(row.data.enterprise_id, row);
  }
  const known = new Set(enterprises.filter((e) => !e.deleted && e.data).map((e) => e.id));
  const tasks = [...byEnterprise.values()].map(({ data }) => {
    // Started after the draw: finished or not, the visit is under way on this tablet.
    const done = inspections.some((i) => i?.data && i.data.enterprise_id === data.enterprise_id
      && i.data.kind === "city_sampling" && String(i.data.started_at ?? "") >= String(data.drawn_at).slice(0, 10));
    return {
      enterpriseId: data.enterprise_id, name: data.enterprise_name, address: data.enterprise_address ?? null,
      regionName: data.region_name ?? "", drawId: data.draw_id, drawnAt: data.drawn_at,
      coInspectors: [...(data.co_inspectors ?? [])], done, inReplica: known.has(data.enterprise_id),
    };
  });
  return tasks.sort((a, b) => Number(a.done) - Number(b.done)
    || String(b.drawnAt).localeCompare(String(a.drawnAt))
    || String(a.name).localeCompare(String(b.name), "zh-CN"));
}
