"""amodal.data"""
