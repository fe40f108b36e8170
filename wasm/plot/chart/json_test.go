package chart

import (
	"encoding/json"
	"fmt"
)

// ParseMessage decodes one JSON message, as the page posts it.
func ParseMessage(data []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("plot: bad message: %v", err)
	}
	return m, nil
}

// Apply decodes one JSON message and updates the state.
func Apply(s *State, data []byte) error {
	m, err := ParseMessage(data)
	if err != nil {
		return err
	}
	return s.ApplyMessage(m)
}
