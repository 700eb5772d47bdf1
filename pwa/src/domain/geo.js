// Distances on the WGS-84 sphere (the same mean radius as server/domain/geo.py).
const EARTH_RADIUS_M = 6371008.8;

/** Great-circle distance in metres between two WGS-84 points. */
export function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Why a photo's position should not be trusted as it is, or null: missing, poor, stale or far away. */
export function positionWarning(fix, enterprise, { now = Date.now(), maxAccuracyM = 50, maxAgeMs = 120000, maxDistanceM = 1000 } = {}) {
  if (!fix) return "missing";
  if (fix.accuracy > maxAccuracyM) return "poor";
  if (now - fix.at > maxAgeMs) return "stale";
  if (enterprise?.lat != null && enterprise?.lon != null && distanceM(fix.lat, fix.lon, enterprise.lat, enterprise.lon) > maxDistanceM) return "far";
  return null;
}

/**
 * The inspection's start_* or end_* position fields from the latest fix, or none when there is no fix or
 * it is older than `maxAgeMs` (a stale fix would claim a place the inspector may have left).
 */
export function positionFields(fix, which, { now = Date.now(), maxAgeMs = 120000 } = {}) {
  if (!fix || !Number.isFinite(fix.lat) || !Number.isFinite(fix.lon)) return {};
  if (Number.isFinite(fix.at) && now - fix.at > maxAgeMs) return {};
  const accuracy = Number.isFinite(fix.accuracy) && fix.accuracy > 0 ? fix.accuracy : null;
  return { [`${which}_lat`]: fix.lat, [`${which}_lon`]: fix.lon, [`${which}_accuracy_m`]: accuracy };
}
