"""Parse incoming order documents."""
import xml.etree.ElementTree as ET


def order_ids(data):
    root = ET.fromstring(data)
    return [el.get("id") for el in root.iter("order")]
