"""Icons, themes and the real sample scans (samples/, Kermany, CC BY 4.0):
package data, no code. Found with importlib.resources through core.package_data."""
