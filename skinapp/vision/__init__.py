"""Computer vision on dermoscopy images: hair removal, lesion segmentation, ABCD descriptors.

Modules are imported explicitly (``from skinapp.vision.hair import remove_hair``); this
package file imports nothing so that each module loads only what it needs.
"""
