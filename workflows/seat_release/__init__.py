"""A seat release the console asks for: the holder of an idle seat is asked Keep / Release in
Slack, like reuse first's reclaim, but on the ITAM team's behalf (docs/decisions.md, 49)."""
