"""Every query feedback makes: callbacks, the facts behind the rates, and the rate counters."""
