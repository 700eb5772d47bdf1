// The position watch that starts with an inspection: the latest fix with its accuracy and age.
import { useEffect, useState } from "preact/hooks";

/** Watch the device's position while the component is mounted; returns the latest fix or null. */
export function usePosition() {
  const [fix, setFix] = useState(null);
  useEffect(() => {
    if (!("geolocation" in navigator)) return undefined;
    const id = navigator.geolocation.watchPosition(
      (p) => setFix({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy, at: p.timestamp }),
      () => {}, // no fix: photos carry none and say so in their watermark
      { enableHighAccuracy: true, maximumAge: 10000, timeout: 30000 },
    );
    return () => navigator.geolocation.clearWatch(id);
  }, []);
  return fix;
}
