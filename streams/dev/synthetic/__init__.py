"""Seeded synthetic event streams: aid deliveries in northern Mali, July-September 2012.

`generate(seed, shipments, noise, mix)` builds a stream that follows the event contract (v1):
reference data, shipments with convoy tracks, stops and receipts, distributions fed by
those receipts, feedback and security incidents, with findings of all nine typologies
planted at known rates next to near misses that must not fire. `truth` lists what a
correct monitor raises. Noise (duplicates, shuffled arrival, early receipts, malformed
lines) comes from its own random stream, so `noise` never changes the events or the truth.
`mix` picks the proportions (`mixes`): the default one, mostly distributions, or
`convoys-and-camps`, heavy on convoy positions with a big camp served in three rounds.

Towns are real; every person, company, zone boundary and sanctions entry is invented.
Stdlib only. Modules: `records` (calendar, events, builder), `places` (reference tables,
sanctions list), `geometry`, `mixes` (what differs between mixes), `shipments` (plans,
waybills, receipts), `convoys` (tracks, stops, deviations, incidents), `aid`
(distributions, feedback), `truth`, `noise`, and `generator` (the steps in order).
"""

from streams.dev.synthetic.generator import Synthetic, generate, write
from streams.dev.synthetic.mixes import MIXES, Mix
from streams.dev.synthetic.places import NEAR_MISSES, SANCTIONED, Listed, sanctions_xml

__all__ = ["MIXES", "NEAR_MISSES", "SANCTIONED", "Listed", "Mix", "Synthetic", "generate", "sanctions_xml", "write"]
