"""Geography: alert areas, province outlines and the reach rule (rules level: no store or HTTP)."""
