#!/usr/bin/python3
"""extract-iface.py IFACE < introspection.xml - print the introspection
document of one interface, as shipped under /usr/share/dbus-1/interfaces/
(so the test can compare what cvmd serves with what is installed)."""
import sys
import xml.etree.ElementTree as ET

iface = sys.argv[1]
root = ET.fromstring(sys.stdin.read())
node = ET.Element("node")
for i in root.findall("interface"):
	if i.get("name") == iface:
		node.append(i)
if not len(node):
	sys.exit("no interface %s" % iface)
ET.indent(node, space=" ")
print('<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"')
print('"https://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">')
print(ET.tostring(node, encoding="unicode"))
