"""Ingest: from a feed URL to stories, in pipeline order.

netguard.py vets a URL (no private addresses) and pinned_connector.py connects only to the
addresses it vetted; fetch.py fetches one feed within limits (redirects, conditional GET),
with response.py decoding its body and caching headers; charsets.py settles the feed's
encoding and parse.py turns its bytes into plain entries, run in worker processes by
pool.py; stories.py turns an entry into a Story (pure policy: identity, age, title) and
tells copies from originals, with similar_titles.py for near-identical titles across outlets;
poller.py runs the poll cycle over every feed. discovery.py finds the feed a page links to,
for an admin adding one; urls.py holds the URL helpers parsing and discovery share.
"""
