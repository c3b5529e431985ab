"""The Streamlit explorer's layer: state, map, offline Leaflet assets and the dev server.

Kept apart from the engine (``geo``) so that ``import geo`` never loads
Streamlit or Folium; only ``app.py``, the tests and the bench's soak import it.
"""
