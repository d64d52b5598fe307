"""amodal.viz"""
