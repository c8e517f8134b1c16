"""What a web page needs from segemu to run analytics.js offline: the analytics.js library
(the official standalone bundle, or segemu's own small one), the CDN settings, and a snippet.

Nothing here knows about HTTP: segemu/http/cdn.py serves what these modules make.
"""
