"""Video files: probing one before anything decodes it, decoding and sampling its frames, and the cuts between
its shots."""
