"""Mock destinations: Segment's routing, and what each destination's API would receive.

base.py is the contract of a destination (Actions style); mapping.py and fql.py are Segment's
mapping-kit and subscription language; presets/ holds one module per destination.
"""
